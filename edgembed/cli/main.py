"""The root `edgembed` group: global options, config file, error handling, subcommands."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import click

from edgembed import __version__
from edgembed.cli.options import CliState
from edgembed.config import load_toml
from edgembed.errors import EdgembedError
from edgembed.progress import configure_logging
from edgembed.workspace import Workspace

__all__ = ["cli", "main"]


# Commands in pipeline order. Each module is imported only when its command runs (or for
# --help), so `edgembed serve` starts without importing the training stack's CLI modules.
COMMANDS = (
    "chunk",
    "generate",
    "train",
    "evaluate",
    "export",
    "check",
    "bench",
    "serve",
    "pipeline",
    "improve",
    "versions",
    "models",
)


class EdgembedGroup(click.Group):
    """Loads commands lazily and turns edgembed's own errors into clean CLI errors (message,
    exit 1, no traceback)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        command: click.Command = getattr(
            importlib.import_module(f"edgembed.cli.{cmd_name}"), cmd_name
        )
        return command

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
    Typical run (or all at once: edgembed pipeline ./docs):
      edgembed generate ./docs       # documents -> chunks + training pairs (no LLM needed)
      edgembed train                 # fine-tune the bundled all-MiniLM-L6-v2
      edgembed evaluate --questions questions.jsonl   # base vs fine-tuned on retrieval
      edgembed export                # int8 ONNX with a parity check
      edgembed bench                 # ONNX vs PyTorch: speed and accuracy
      edgembed serve workspace/exports/edgembed-model # OpenAI-compatible /v1/embeddings

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


def main() -> None:
    """Console-script entry point."""
    cli(auto_envvar_prefix="EDGEMBED")
