"""chunks.jsonl: reading and writing the chunk corpus of a workspace."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from edgembed.atomic import read_jsonl, write_jsonl
from edgembed.corpus.chunker import Chunk
from edgembed.errors import InputError

__all__ = ["read_chunks", "write_chunks"]


def write_chunks(path: Path, chunks: Sequence[Chunk]) -> None:
    """Write chunks as JSONL, atomically."""
    write_jsonl(path, (chunk.to_json() for chunk in chunks))


def read_chunks(path: Path) -> list[Chunk]:
    """Read chunks.jsonl.

    Raises:
        InputError: the file is missing or malformed; the message says how to make it.
    """
    if not path.exists():
        raise InputError(
            f"{path} not found. Run `edgembed generate DOCS` first "
            "(or `edgembed chunk DOCS` for the chunks alone)."
        )
    try:
        return [Chunk.from_json(row) for row in read_jsonl(path)]
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path} is malformed ({exc}). Re-run `edgembed chunk DOCS`.") from exc
