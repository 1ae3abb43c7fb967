"""The root `edgembed` group: global options, config file, error handling, subcommands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from edgembed import __version__
from edgembed.cli.bench import bench
from edgembed.cli.chunk import chunk
from edgembed.cli.evaluate import evaluate
from edgembed.cli.export import export
from edgembed.cli.generate import generate
from edgembed.cli.options import CliState
from edgembed.cli.pipeline import pipeline
from edgembed.cli.serve import serve
from edgembed.cli.train import train
from edgembed.config import Workspace, load_toml
from edgembed.errors import EdgembedError
from edgembed.progress import configure_logging

__all__ = ["cli", "main"]


class EdgembedGroup(click.Group):
    """Turns edgembed's own errors into clean CLI errors (message, exit 1, no traceback)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except EdgembedError as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=EdgembedGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="edgembed")
@click.option(
    "--workspace",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("workspace"),
    show_default=True,
    help="Folder where every stage reads its inputs and writes its outputs.",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A TOML file of defaults: top-level keys for global options, a [command] table for "
    "each command's options. Default: ./edgembed.toml when it exists.",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors: no progress bars, no info logs.")
@click.pass_context
def cli(
    ctx: click.Context, workspace: Path, config_path: Path | None, verbose: int, quiet: bool
) -> None:
    """edgembed: domain-tuned embeddings for on-prem RAG.

    Point it at a folder of your documents; it makes training pairs, fine-tunes an embedding
    model, checks that retrieval got better, exports quantized ONNX and serves it with an
    OpenAI-compatible API on CPU.

    \b
    Typical run:
      edgembed chunk ./docs          # documents -> workspace/chunks.jsonl

    Options come from flags, then EDGEMBED_* environment variables (EDGEMBED_WORKSPACE,
    EDGEMBED_<COMMAND>_<OPTION>), then edgembed.toml.
    """
    configure_logging(-1 if quiet else verbose)
    if config_path is None and Path("edgembed.toml").is_file():
        config_path = Path("edgembed.toml")
    if config_path is not None:
        if not config_path.is_file():
            raise click.BadParameter(f"{config_path} does not exist", param_hint="--config")
        try:
            defaults = load_toml(config_path)
        except EdgembedError as exc:
            raise click.ClickException(str(exc)) from exc
        ctx.default_map = {**defaults, **(ctx.default_map or {})}
        if "workspace" in defaults and ctx.get_parameter_source("workspace") == (
            click.core.ParameterSource.DEFAULT
        ):
            workspace = Path(defaults["workspace"])
    ctx.obj = CliState(Workspace(workspace), -1 if quiet else verbose, config_path)


cli.add_command(chunk)
cli.add_command(generate)
cli.add_command(serve)
cli.add_command(train)
cli.add_command(evaluate)
cli.add_command(pipeline)
cli.add_command(export)
cli.add_command(bench)


def main() -> None:
    """Console-script entry point."""
    cli(auto_envvar_prefix="EDGEMBED")
