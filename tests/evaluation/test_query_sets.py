"""Query sets: eval pairs and real questions, read the same way by evaluate, export and bench."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgembed.corpus import Chunk, write_chunks
from edgembed.corpus.pairs import Pair, write_pairs
from edgembed.evaluation.query_sets import (
    EVAL_PAIRS,
    REAL_QUESTIONS,
    build_query_sets,
    eval_pairs,
    load_query_sets,
)
from edgembed.workspace import Workspace

CHUNKS = [
    Chunk("a1", "pto.md", "PTO", "Accrual", "PTO > Accrual\nYou earn 1.5 days a month.", 8, 0),
    Chunk("b1", "travel.md", "Travel", "", "Travel\nThe per diem is $75.", 5, 0),
]


def _pair(query: str, chunk_id: str) -> Pair:
    return Pair(query, chunk_id, "passage", "pto.md", "ict", "ict", "none")


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    ws = Workspace(tmp_path)
    write_chunks(ws.chunks, CHUNKS)
    write_pairs(
        ws.pairs_eval,
        [_pair("days a month?", "a1"), _pair("per diem?", "b1"), _pair("gone?", "zz")],
    )
    (tmp_path / "q.jsonl").write_text(json.dumps({"question": "PTO?", "doc": "pto.md"}) + "\n")
    return ws


def test_query_sets_come_from_eval_pairs_and_questions(workspace: Workspace) -> None:
    chunks, sets = load_query_sets(workspace, workspace.root / "q.jsonl")
    assert [chunk.id for chunk in chunks] == ["a1", "b1"]
    assert [s.name for s in sets] == [EVAL_PAIRS, REAL_QUESTIONS]
    assert sets[0].queries == ["days a month?", "per diem?"]
    assert sets[0].relevant == [{0}, {1}]
    assert sets[1].relevant == [{0}]


def test_pairs_of_missing_chunks_are_left_out(workspace: Workspace) -> None:
    assert [pair.positive_id for pair in eval_pairs(workspace, CHUNKS)] == ["a1", "b1"]


def test_no_pairs_and_no_questions_make_no_sets(tmp_path: Path) -> None:
    assert eval_pairs(Workspace(tmp_path), CHUNKS) == []
    assert build_query_sets(CHUNKS, [], None) == []


def test_no_chunks_means_no_query_sets(tmp_path: Path) -> None:
    assert load_query_sets(Workspace(tmp_path), None) == ([], [])
