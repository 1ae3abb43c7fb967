from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from edgembed.atomic import append_jsonl, read_jsonl, write_json, write_jsonl, write_text


def test_write_is_atomic_and_readable_by_others(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.json"
    write_json(target, {"a": 1})
    assert target.read_text() == '{\n  "a": 1\n}\n'
    mode = stat.S_IMODE(target.stat().st_mode)
    assert mode == 0o666 & ~_umask()
    assert [p.name for p in target.parent.iterdir()] == ["out.json"]


def test_a_failed_write_leaves_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out.txt"
    write_text(target, "old")

    def crash(src: str, dst: str) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk gone"):
        write_text(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]  # no temp file left behind


def test_read_jsonl_skips_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    append_jsonl(path, [{"n": 1}, {"n": 2}])
    with path.open("a") as handle:
        handle.write('{"n": 3')
    assert [row["n"] for row in read_jsonl(path)] == [1, 2]
    path.write_text('{"n": 1\n{"n": 2}\n')
    with pytest.raises(ValueError, match="not valid JSON"):
        list(read_jsonl(path))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_read_jsonl_keeps_line_separators_inside_strings(tmp_path: Path) -> None:
    # Written unescaped (ensure_ascii=False): only "\n" ends a record, not U+2028 or U+0085.
    rows = [{"text": "one\u2028two\x85three\x1cfour"}, {"text": "five"}]
    write_jsonl(tmp_path / "chunks.jsonl", rows)
    assert list(read_jsonl(tmp_path / "chunks.jsonl")) == rows
