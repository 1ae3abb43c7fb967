"""Configuration: one frozen dataclass per command, plus the workspace layout.

Sources, strongest first: command-line flags > ``EDGEMBED_*`` environment variables >
``edgembed.toml`` > defaults. The CLI applies that order (click's ``auto_envvar_prefix`` and
``default_map``); library code only ever sees the finished dataclasses.

edgembed.toml holds top-level keys for the global options and one table per command::

    workspace = "ws"
    [chunk]
    chunk_words = 400
    [train]
    epochs = 3
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgembed.errors import ConfigError

__all__ = ["ChunkConfig", "Workspace", "load_toml"]


def load_toml(path: Path) -> dict[str, Any]:
    """Read edgembed.toml into click's ``default_map`` shape.

    Raises:
        ConfigError: the file is not valid TOML.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{path} is not valid TOML: {exc}. Fix the file or pass --config."
        ) from exc
    # click looks options up by parameter name, which uses underscores.
    return _underscore_keys(data)


def _underscore_keys(data: dict[str, Any]) -> dict[str, Any]:
    return {
        key.replace("-", "_"): _underscore_keys(value) if isinstance(value, dict) else value
        for key, value in data.items()
    }


@dataclass(frozen=True)
class Workspace:
    """The folder where every stage reads its inputs and writes its outputs."""

    root: Path

    @property
    def chunks(self) -> Path:
        return self.root / "chunks.jsonl"

    @property
    def pairs_train(self) -> Path:
        return self.root / "pairs.train.jsonl"

    @property
    def pairs_eval(self) -> Path:
        return self.root / "pairs.eval.jsonl"

    @property
    def generate_dir(self) -> Path:
        """Per-chunk progress of `generate`, kept so an interrupted run can resume."""
        return self.root / "generate"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def exports(self) -> Path:
        return self.root / "exports"

    @property
    def reports(self) -> Path:
        return self.root / "reports"


@dataclass(frozen=True)
class ChunkConfig:
    """How documents are cut into passages.

    Attributes:
        docs: a folder of documents, or one document.
        chunk_words: target words per chunk; a chunk ends at a paragraph or heading boundary
            near this size.
        overlap_words: words of the previous chunk repeated at the start of the next one
            within the same section, so an answer that straddles a boundary stays whole.
        min_words: chunks shorter than this are merged into their neighbour.
    """

    docs: Path
    chunk_words: int = 500
    overlap_words: int = 50
    min_words: int = 40

    def __post_init__(self) -> None:
        if self.chunk_words < 50:
            raise ConfigError(f"chunk_words must be at least 50, got {self.chunk_words}")
        if not 0 <= self.overlap_words < self.chunk_words // 2:
            raise ConfigError(
                f"overlap_words must be between 0 and half of chunk_words, got {self.overlap_words}"
            )
        if self.min_words < 0:
            raise ConfigError(f"min_words must not be negative, got {self.min_words}")
