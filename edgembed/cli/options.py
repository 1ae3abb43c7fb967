"""Option bundles shared by several commands, and the state the root group hands down."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from edgembed.workspace import Workspace

__all__ = [
    "CliState",
    "force_option",
    "option_names",
    "pass_state",
    "seed_option",
    "stage_options",
]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class CliState:
    """What the root group parsed: the workspace and how chatty to be."""

    workspace: Workspace
    verbosity: int
    config_path: Path | None


pass_state = click.make_pass_decorator(CliState)


def force_option(what: str) -> Callable[[F], F]:
    """--force: allow overwriting `what`, which is refused by default."""
    return click.option("--force", is_flag=True, help=f"Overwrite {what} if it already exists.")


def seed_option(func: F) -> F:
    return click.option(
        "--seed", type=int, default=42, show_default=True, help="Random seed, for repeatable runs."
    )(func)


def option_names(bundle: Callable[[Any], Any]) -> frozenset[str]:
    """The parameter names that a bundle of options (a decorator) adds to a command."""

    def probe() -> None:
        """A command that only holds the bundle's options."""

    return frozenset(param.name for param in click.command()(bundle(probe)).params if param.name)


def stage_options(
    ctx: click.Context, stage: click.Command, names: Collection[str], args: Sequence[str] = ()
) -> dict[str, Any]:
    """The values of `names` for `stage` when `ctx`'s command runs it (as `pipeline` does).

    A name `ctx` got from its own command line, EDGEMBED_* variable or edgembed.toml table
    keeps that value; every other one is what `edgembed STAGE ARGS` would run with: its
    EDGEMBED_<STAGE>_* variable, its [stage] table, then its default.
    """
    own = stage.make_context(stage.name, list(args), parent=ctx.parent)
    return {
        name: own.params[name]
        if ctx.get_parameter_source(name) is ParameterSource.DEFAULT
        else ctx.params[name]
        for name in names
    }
