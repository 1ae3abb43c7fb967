"""The query log: JSONL, one line per query the server embedded, appended durably.

`serve --log-queries` writes it (`append_queries`), `train --queries` and `improve` read it
(`read_query_log`). A line is ``{"v": 1, "time": ISO-8601 UTC, "text": ..., "model": ...}``;
lines written before the version field (no ``v``) read the same. A real-questions file's
``{"question": ...}`` lines are read too, so a user's questions can stand in for a log.

When the file would grow past its cap it is renamed to ``PATH.1`` (replacing the previous
one) and a new one is started: at most twice the cap stays on disk.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from edgembed.errors import InputError
from edgembed.formats.feedback import open_private

__all__ = ["FORMAT_VERSION", "LoggedQuery", "append_queries", "read_query_log"]

FORMAT_VERSION = 1


@dataclass(frozen=True)
class LoggedQuery:
    """One logged query: its text, when it was logged and which model embedded it."""

    text: str
    time: str = ""
    model: str = ""


def append_queries(path: Path, texts: Sequence[str], model: str, max_bytes: int) -> None:
    """Append one line per text, flushed and fsynced, rotating first when the cap is hit.
    Not safe against another process appending at once; the server appends from one lock."""
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    lines = "".join(
        json.dumps(
            {"v": FORMAT_VERSION, "time": now, "text": text, "model": model}, ensure_ascii=False
        )
        + "\n"
        for text in texts
    ).encode()
    size = path.stat().st_size if path.exists() else 0
    if size and size + len(lines) > max_bytes:
        os.replace(path, path.with_name(path.name + ".1"))
    with os.fdopen(open_private(path), "ab") as handle:
        handle.write(lines)
        handle.flush()
        os.fsync(handle.fileno())


def read_query_log(path: Path) -> list[LoggedQuery]:
    """Every query of a log, in order (duplicates included).

    Raises:
        InputError: the file is missing, a line is not a JSON object with a text, or a line
            is of a newer format.
    """
    if not path.exists():
        raise InputError(f"query log {path} not found. `edgembed serve --log-queries` writes one.")
    queries: list[LoggedQuery] = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if line.strip():
                queries.append(_parse(line, f"{path}:{number}"))
    return queries


def _parse(line: str, where: str) -> LoggedQuery:
    try:
        row = json.loads(line)
        text = row.get("text", row.get("question"))
    except (json.JSONDecodeError, AttributeError) as exc:
        raise InputError(f"{where} is not a JSON object: {exc}") from exc
    if not isinstance(text, str):
        raise InputError(f'{where} has no "text": is this a query log?')
    version = row.get("v", 1)
    if version != FORMAT_VERSION:
        raise InputError(f"{where} is query log format {version}; this edgembed reads 1.")
    return LoggedQuery(text, str(row.get("time", "")), str(row.get("model", "")))
