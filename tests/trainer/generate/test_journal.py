from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgembed.errors import InputError
from edgembed.formats.pairs import Pair
from edgembed.trainer.generate.journal import ChunkRecord, RunJournal

OPTIONS = {"generator": "ict", "seed": 42}
CHUNKS = frozenset("abc")


def _record(chunk_id: str) -> ChunkRecord:
    pair = Pair(f"What about {chunk_id}?", chunk_id, "text", "d.md", "ict", "ict", "none")
    return ChunkRecord(chunk_id, (pair,), {"too_short": 1}, 0.25)


def test_records_survive_a_reopen(tmp_path: Path) -> None:
    journal = RunJournal(tmp_path / "generate", OPTIONS)
    assert journal.open(CHUNKS) == [] and journal.exists()
    journal.append([_record("a"), _record("b")])
    journal.append([_record("c")])
    assert RunJournal(tmp_path / "generate", OPTIONS).open(CHUNKS) == [_record(x) for x in "abc"]


def test_a_torn_last_line_is_dropped_and_the_log_repaired(tmp_path: Path) -> None:
    journal = RunJournal(tmp_path / "generate", OPTIONS)
    journal.open(CHUNKS)
    journal.append([_record("a")])
    log = tmp_path / "generate" / "progress.jsonl"
    with log.open("a") as handle:  # what a kill in the middle of a write leaves
        handle.write(json.dumps(_record("b").to_json())[:40])
    assert journal.open(CHUNKS) == [_record("a")]
    journal.append([_record("c")])  # would have been glued to the torn line without the repair
    assert journal.open(CHUNKS) == [_record("a"), _record("c")]


def test_a_chunk_recorded_twice_counts_once(tmp_path: Path) -> None:
    journal = RunJournal(tmp_path / "generate", OPTIONS)
    journal.open(CHUNKS)
    journal.append([_record("a"), _record("b"), _record("a")])
    assert [r.chunk_id for r in journal.open(CHUNKS)] == ["a", "b"]
    log = tmp_path / "generate" / "progress.jsonl"
    assert len(log.read_text().splitlines()) == 2


def test_a_corrupt_log_says_how_to_start_over(tmp_path: Path) -> None:
    journal = RunJournal(tmp_path / "generate", OPTIONS)
    journal.open(CHUNKS)
    (tmp_path / "generate" / "progress.jsonl").write_text("garbage\n{}\n")
    with pytest.raises(InputError, match="--force"):
        journal.open(CHUNKS)


def test_conflict_lists_the_changed_options(tmp_path: Path) -> None:
    RunJournal(tmp_path / "generate", OPTIONS).open(CHUNKS)
    assert RunJournal(tmp_path / "generate", OPTIONS).conflict() is None
    changed = RunJournal(tmp_path / "generate", {**OPTIONS, "seed": 7})
    assert "seed: 42 -> 7" in (changed.conflict() or "")
    changed.reset()
    assert not changed.exists() and changed.conflict() is None


def test_records_of_chunks_that_no_longer_exist_are_dropped(tmp_path: Path) -> None:
    journal = RunJournal(tmp_path / "generate", OPTIONS)
    journal.open(CHUNKS)
    journal.append([_record("a"), _record("b"), _record("c")])
    # "b" was edited (a new id, "d") and "c" removed: only "a" is still done.
    assert journal.open({"a", "d"}) == [_record("a")]
    log = tmp_path / "generate" / "progress.jsonl"
    assert [json.loads(line)["chunk_id"] for line in log.read_text().splitlines()] == ["a"]
    assert journal.open({"a", "b", "c"}) == [_record("a")]  # gone for good, not hidden


def test_an_option_no_longer_recorded_does_not_block_a_resume(tmp_path: Path) -> None:
    # Before chunks were resumed one by one, run.json also held a hash of all chunk ids.
    RunJournal(tmp_path / "generate", {**OPTIONS, "corpus": "1f0c3a"}).open(CHUNKS)
    assert RunJournal(tmp_path / "generate", OPTIONS).conflict() is None
