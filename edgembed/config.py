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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgembed.errors import ConfigError

__all__ = [
    "ChunkConfig",
    "ServeSettings",
    "Workspace",
    "load_toml",
]


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


@dataclass(frozen=True)
class ServeSettings:
    """How `edgembed serve` listens, batches and guards the embedding server.

    Attributes:
        host, port: the address to bind (127.0.0.1:8001; use 0.0.0.0 only behind a firewall).
        api_key: when set, /v1/* and /api/* require ``Authorization: Bearer <api_key>``.
        model_name: the model id reported by /v1/models and accepted in requests; None: the
            export's own name.
        variant: which ONNX file of the export to run: ``int8`` (quantized) or ``fp32``.
        threads: onnxruntime intra-op threads; None: one per core.
        max_batch_tokens: the padded-token budget of one model call; concurrent requests are
            merged until the next one would exceed it.
        max_wait_ms: how long a batch waits for more requests when traffic is concurrent
            (a lone client never waits).
        max_queue: requests allowed to wait for the model; more are refused with 503 and
            Retry-After.
        max_inputs: inputs allowed in one request (OpenAI's limit is 2048).
        max_body_bytes: request bodies larger than this are refused with 413.
        cors_origins: browser origins allowed to call the API (none by default).
        truncate: inputs longer than the model's limit are cut to it (True) or refused with
            400 (False); a request can override this with its ``truncate`` field.
    """

    host: str = "127.0.0.1"
    port: int = 8001
    api_key: str | None = field(default=None, repr=False)
    model_name: str | None = None
    variant: str = "int8"
    threads: int | None = None
    max_batch_tokens: int = 8192
    max_wait_ms: float = 2.0
    max_queue: int = 256
    max_inputs: int = 2048
    max_body_bytes: int = 8 * 1024 * 1024
    cors_origins: tuple[str, ...] = ()
    truncate: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.port <= 65535:
            raise ConfigError(f"port must be between 1 and 65535, got {self.port}")
        if self.variant not in ("int8", "fp32"):
            raise ConfigError(f"variant must be 'int8' or 'fp32', got '{self.variant}'")
        if self.api_key is not None and not self.api_key.strip():
            raise ConfigError("the API key is empty: pass a real key or leave it unset")
        if self.model_name is not None and not self.model_name.strip():
            raise ConfigError("model_name is empty: pass a name or leave it unset")
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"threads must be at least 1, got {self.threads}")
        for name in ("max_batch_tokens", "max_queue", "max_inputs", "max_body_bytes"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not 0 <= self.max_wait_ms <= 1000:
            raise ConfigError(f"max_wait_ms must be between 0 and 1000, got {self.max_wait_ms}")
