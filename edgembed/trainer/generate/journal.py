"""Resumable progress of `generate`, under WORKSPACE/generate/.

- ``run.json``: the options that decide what each chunk produces. A later run continues only
  with the same options; otherwise it refuses, unless --force starts over.
- ``progress.jsonl``: one record per finished chunk (its pairs and what was dropped),
  appended and fsynced as each chunk finishes. A kill loses at most the chunks in flight; a
  torn last line is dropped and the file rewritten before anything is appended again.

The documents are not among the options: a chunk's id hashes its document path and text, so
after an edit the records of unchanged chunks are kept, those of chunks that no longer exist
are dropped, and only the new chunks are generated.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgembed.atomic import append_jsonl, read_jsonl, write_json, write_jsonl
from edgembed.errors import InputError
from edgembed.formats.pairs import Pair

__all__ = ["ChunkRecord", "RunJournal"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChunkRecord:
    """The outcome of one chunk.

    Attributes:
        chunk_id: the chunk.
        pairs: the pairs kept.
        dropped: candidates and answers rejected, by reason.
        seconds: wall time spent on the chunk.
    """

    chunk_id: str
    pairs: tuple[Pair, ...]
    dropped: Mapping[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "chunk_id": self.chunk_id,
            "pairs": [pair.to_json() for pair in self.pairs],
            "dropped": dict(self.dropped),
            "seconds": round(self.seconds, 4),
        }

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> ChunkRecord:
        return cls(
            chunk_id=str(row["chunk_id"]),
            pairs=tuple(Pair.from_json(pair) for pair in row["pairs"]),
            dropped={str(k): int(v) for k, v in row["dropped"].items()},
            seconds=float(row["seconds"]),
        )


class RunJournal:
    """The progress folder of one workspace, for one set of options.

    Args:
        folder: WORKSPACE/generate.
        options: what decides each chunk's output (generator, model, counts, seed...), the
            chunks themselves aside (see the module docstring).
    """

    def __init__(self, folder: Path, options: Mapping[str, Any]) -> None:
        self.folder = folder
        self.options = dict(options)
        self._run_file = folder / "run.json"
        self._log = folder / "progress.jsonl"

    def exists(self) -> bool:
        """Whether an earlier run left progress here."""
        return self._run_file.exists()

    def conflict(self) -> str | None:
        """Why the progress here cannot be continued with these options (None: it can)."""
        if not self.exists():
            return None
        try:
            stored = json.loads(self._run_file.read_text(encoding="utf-8")).get("options", {})
        except ValueError:
            return f"{self._run_file} is unreadable"
        # Only the options this version records decide a chunk's output: one an earlier
        # version also recorded and this one dropped (the corpus hash) changes nothing.
        changed = sorted(k for k in self.options if stored.get(k) != self.options[k])
        if not changed:
            return None
        details = ", ".join(f"{k}: {stored.get(k)!r} -> {self.options.get(k)!r}" for k in changed)
        return (
            f"{self.folder} holds an unfinished or earlier run made with other options ({details})"
        )

    def reset(self) -> None:
        """Forget all progress."""
        shutil.rmtree(self.folder, ignore_errors=True)

    def open(self, chunk_ids: Collection[str]) -> list[ChunkRecord]:
        """Record the options and return the records of `chunk_ids` already done.

        Records of other chunks (an edited or removed document's) are dropped from the log,
        and a torn last line is repaired.

        Raises:
            InputError: the log is corrupt beyond a torn last line.
        """
        write_json(self._run_file, {"options": self.options})
        if not self._log.exists():
            return []
        try:
            rows = list(read_jsonl(self._log))
            records = [ChunkRecord.from_json(row) for row in rows]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InputError(
                f"{self._log} is corrupt ({exc}). Pass --force to start generation over."
            ) from exc
        seen: set[str] = set()
        kept: list[ChunkRecord] = []
        for record in records:
            if record.chunk_id in chunk_ids and record.chunk_id not in seen:
                seen.add(record.chunk_id)
                kept.append(record)
        gone = len({r.chunk_id for r in records} - seen)
        if gone:
            log.info("%d chunks of the last run are gone (edited or removed): pairs dropped", gone)
        if len(kept) != len(rows) or not self._log.read_bytes().endswith(b"\n"):
            write_jsonl(self._log, (record.to_json() for record in kept))
        return kept

    def append(self, records: Sequence[ChunkRecord]) -> None:
        """Save finished chunks durably (one write and fsync)."""
        if records:
            append_jsonl(self._log, (record.to_json() for record in records))
