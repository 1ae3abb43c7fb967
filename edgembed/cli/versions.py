"""edgembed versions: list, load, switch, roll back and unload a running server's model versions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import click

from edgembed.cli.options import api_key_option
from edgembed.cli.table import format_table
from edgembed.client import EdgembedEmbeddings

__all__ = ["versions"]

_URL = "http://127.0.0.1:8001"


def _server_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = api_key_option("The server's API key, if it has one (or set EDGEMBED_API_KEY).")(
        command
    )
    return click.option(
        "--url",
        default=_URL,
        show_default=True,
        envvar="EDGEMBED_URL",
        help="The running `edgembed serve` (or set EDGEMBED_URL).",
    )(command)


def _client(url: str, api_key: str | None) -> EdgembedEmbeddings:
    return EdgembedEmbeddings(url, api_key=api_key, retries=1)


def _show(listing: dict[str, Any]) -> None:
    rows = [
        [
            card["id"],
            "default" if card["default"] else ("previous" if card["version"] == listing.get(
                "previous") else ""),
            "yes" if card["ready"] else "warming up",
            card["export"] or "-",
            card.get("improved_from") or "-",
            datetime.fromtimestamp(card["loaded"], UTC).strftime("%Y-%m-%d %H:%M"),
        ]
        for card in listing["data"]
    ]  # fmt: skip
    click.echo(format_table(["id", "role", "ready", "export", "improved from", "loaded (UTC)"],
                            rows))  # fmt: skip
    click.echo(f"'{listing['model']}' serves v{listing['default']}.")


@click.group(invoke_without_command=True)
@_server_options
@click.pass_context
def versions(ctx: click.Context, url: str, api_key: str | None) -> None:
    """The model versions a running server serves, and which one its plain name gets.

    A new version of an embedding model (from `edgembed improve`) gives vectors that do not
    compare with those already in your RAG index, so the server serves versions side by side
    (NAME@v1, NAME@v2) and moves the plain NAME only when told. The procedure:

    \b
      edgembed versions load edgembed-model-v2   # serve it beside the default
      # re-embed your documents with model NAME@v2 into a new index
      # (edgembed.client: embeddings.reembed(texts, 2)), point your backend at it
      edgembed versions default 2                # NAME now gets v2
      edgembed versions rollback                 # if anything looks wrong
      edgembed versions unload 1                 # once nothing uses v1

    Without a subcommand: list the versions. Changing versions needs the server's API key,
    or, on a server without one, a call from its own machine.
    """
    ctx.obj = _client(url, api_key)
    if ctx.invoked_subcommand is None:
        _show(ctx.obj.versions())


@versions.command("list")
@click.pass_obj
def list_versions(client: EdgembedEmbeddings) -> None:
    """List the loaded versions (the default first in the role column)."""
    _show(client.versions())


@versions.command()
@click.argument("export")
@click.pass_obj
def load(client: EdgembedEmbeddings, export: str) -> None:
    """Load EXPORT (an export folder's name inside the server's versions folder, e.g.
    edgembed-model-v2) as a version beside the others. The default does not change; with
    --corpus, the server embeds its corpus with it first, so this can take a while."""
    card = client.load_version(export)
    click.echo(f"loaded {export} as {card['id']}; the default is unchanged.")
    _show(client.versions())


@versions.command()
@click.argument("version", type=click.IntRange(min=1))
@click.pass_obj
def default(client: EdgembedEmbeddings, version: int) -> None:
    """Make VERSION the default: requests for the plain model name get it from now on."""
    _show(client.switch_version(version))


@versions.command()
@click.pass_obj
def rollback(client: EdgembedEmbeddings) -> None:
    """Make the version before the last switch the default again."""
    _show(client.rollback())


@versions.command()
@click.argument("version", type=click.IntRange(min=1))
@click.pass_obj
def unload(client: EdgembedEmbeddings, version: int) -> None:
    """Stop serving VERSION (not the default) once its queued requests are answered."""
    _show(client.unload_version(version))
