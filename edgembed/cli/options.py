"""Option bundles shared by several commands, and the state the root group hands down."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from edgembed.config import TrainConfig
from edgembed.workspace import Workspace

__all__ = [
    "CliState",
    "bundle",
    "defaults_of",
    "api_key_option",
    "device_option",
    "force_option",
    "option_names",
    "pass_state",
    "questions_option",
    "seed_option",
    "stage_options",
    "threads_option",
]

F = TypeVar("F", bound=Callable[..., Any])
Decorator = Callable[[Any], Any]


def defaults_of(config: type[Any]) -> SimpleNamespace:
    """The defaults of a configuration dataclass's fields, by name: what every option's
    default is read from, so the CLI never restates them (fields without one are left out)."""
    values = {}
    for item in fields(config):
        if item.default is not MISSING:
            values[item.name] = item.default
        elif item.default_factory is not MISSING:
            values[item.name] = item.default_factory()
    return SimpleNamespace(**values)


def bundle(options: Sequence[Decorator]) -> Callable[[F], F]:
    """One decorator that applies `options` (click options or other bundles) in order, top
    first, as if they were stacked above the command."""

    def apply(func: F) -> F:
        for option in reversed(options):
            func = option(func)
        return func

    return apply


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
        "--seed",
        type=int,
        default=defaults_of(TrainConfig).seed,
        show_default=True,
        help="Random seed, for repeatable runs.",
    )(func)


def questions_option(help: str, *, exists: bool = False) -> Callable[[F], F]:
    """--questions: a real-questions JSONL (edgembed.evaluation.questions); `help` says what
    the command does with it."""
    return click.option(
        "--questions",
        type=click.Path(exists=exists, dir_okay=False, path_type=Path),
        default=None,
        help=help,
    )


def threads_option(help: str) -> Callable[[F], F]:
    """--threads: how many threads the ONNX engine (and PyTorch) may use; None: their own."""
    return click.option("--threads", type=click.IntRange(min=1), default=None, help=help)


def api_key_option(help: str) -> Callable[[F], F]:
    """--api-key, or EDGEMBED_API_KEY: the key of an edgembed server."""
    return click.option("--api-key", envvar="EDGEMBED_API_KEY", default=None, help=help)


def device_option(func: F) -> F:
    """--device: where PyTorch runs (train, evaluate)."""
    return click.option(
        "--device",
        type=click.Choice(["auto", "cpu", "cuda"]),
        default="auto",
        show_default=True,
        help="auto: CUDA when torch sees a GPU, else CPU.",
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
