"""The query log: versioned JSONL lines, appended durably, rotated at its cap."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgembed.errors import InputError
from edgembed.formats.querylog import FORMAT_VERSION, append_queries, read_query_log


def test_appended_queries_read_back_in_order(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    append_queries(path, ["How many PTO days?", "VPN?"], "m", 1 << 20)
    append_queries(path, ["How many PTO days?"], "m2", 1 << 20)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert {row["v"] for row in rows} == {FORMAT_VERSION}
    logged = read_query_log(path)
    assert [(q.text, q.model) for q in logged] == [
        ("How many PTO days?", "m"), ("VPN?", "m"), ("How many PTO days?", "m2"),
    ]  # fmt: skip
    assert (path.stat().st_mode & 0o777) == 0o600


def test_a_full_log_is_rotated_once(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    append_queries(path, ["first " * 20], "m", 200)
    append_queries(path, ["second " * 20], "m", 200)
    assert [q.text.split()[0] for q in read_query_log(path)] == ["second"]
    assert [q.text.split()[0] for q in read_query_log(tmp_path / "q.jsonl.1")] == ["first"]


def test_older_lines_and_question_files_read_too(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"time": "t", "text": "old line", "model": "m"}\n\n{"question": "asked"}\n')
    assert [q.text for q in read_query_log(path)] == ["old line", "asked"]


def test_a_bad_log_says_what_it_is(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        read_query_log(tmp_path / "missing.jsonl")
    (tmp_path / "bad.jsonl").write_text('{"input": "x"}\n')
    with pytest.raises(InputError, match='no "text"'):
        read_query_log(tmp_path / "bad.jsonl")
    (tmp_path / "new.jsonl").write_text('{"v": 2, "text": "x"}\n')
    with pytest.raises(InputError, match="format 2"):
        read_query_log(tmp_path / "new.jsonl")
