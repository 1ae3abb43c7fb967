"""Progress bars and logging set-up, in one place so --quiet silences both."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

__all__ = ["configure_logging", "progress", "progress_enabled"]

T = TypeVar("T")

_state = {"enabled": True}


def configure_logging(verbosity: int) -> None:
    """Set up logging: -1 quiet (errors only), 0 warnings, 1 info, 2+ debug."""
    level = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr, force=True
    )
    _state["enabled"] = verbosity >= 0


def progress_enabled() -> bool:
    """Whether long work should draw a progress bar (off under --quiet)."""
    return _state["enabled"]


def progress(
    items: Iterable[T], *, desc: str, total: int | None = None, unit: str = "it"
) -> Iterator[T]:
    """Wrap `items` in a tqdm progress bar with ETA on stderr, unless --quiet."""
    if not progress_enabled():
        yield from items
        return
    from tqdm.auto import tqdm

    yield from tqdm(items, desc=desc, total=total, unit=unit, dynamic_ncols=True, leave=False)
