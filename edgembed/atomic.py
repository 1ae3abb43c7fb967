"""Atomic output: write a file (or build a folder) beside the target, then rename it into place.

A crash never leaves a half-written file or folder under the target's name.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "append_jsonl",
    "read_jsonl",
    "staging_folder",
    "swap_in",
    "write_bytes",
    "write_json",
    "write_jsonl",
    "write_text",
]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically, creating parent folders.

    The file gets the permissions a plain open() would give it (0666 less the umask), not
    mkstemp's 0600, so that e.g. a non-root server can read an export written by root.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    """Write UTF-8 `text` to `path` atomically."""
    write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, data: Any) -> None:
    """Write `data` as indented JSON to `path` atomically."""
    write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def write_jsonl(path: Path, rows: Iterable[Mapping[str, Any]]) -> None:
    """Write one JSON object per line to `path` atomically."""
    lines = [json.dumps(row, ensure_ascii=False) for row in rows]
    write_text(path, "".join(line + "\n" for line in lines))


def append_jsonl(path: Path, rows: Iterable[Mapping[str, Any]]) -> None:
    """Append JSON lines and fsync, for progress logs that must survive a crash."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Yield the JSON objects of a JSONL file, skipping a torn last line left by a crash.

    Raises:
        ValueError: a line other than the last is not valid JSON.
    """
    # Line by line, never the whole file at once: a corpus's chunks.jsonl or a generate
    # journal can be hundreds of MB, and a copy of it as one string and one as a list of lines
    # stayed in the heap after the read.
    torn: tuple[int, json.JSONDecodeError] | None = None  # a bad line, unless it is the last
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if torn is not None:
                raise ValueError(f"{path}:{torn[0]}: not valid JSON ({torn[1].msg})") from torn[1]
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                torn = (number, exc)
                continue
            if not isinstance(row, dict):
                raise ValueError(f"{path}:{number}: expected a JSON object")
            yield row


def staging_folder(target: Path) -> Path:
    """A fresh, empty hidden folder beside `target` to build a folder in (see `swap_in`)."""
    staging = target.parent / f".{target.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    return staging


def swap_in(staging: Path, target: Path) -> None:
    """Put the finished `staging` folder in `target`'s place; an old `target` is removed only
    once the new one is in place."""
    old = target.parent / f".{target.name}.old"
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)
