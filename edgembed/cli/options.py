"""Option bundles shared by several commands, and the state the root group hands down."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from edgembed.config import Workspace

__all__ = ["CliState", "force_option", "pass_state", "seed_option"]

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
