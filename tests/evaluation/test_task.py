"""The retrieval task: eval pairs and real questions, built once for train, evaluate, export and
bench."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgembed.corpus import Chunk, write_chunks
from edgembed.evaluation.task import (
    EVAL_PAIRS,
    REAL_QUESTIONS,
    RetrievalTask,
    eval_pairs,
    heldout_texts,
    load_tasks,
)
from edgembed.formats.pairs import Pair, write_pairs
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


def test_tasks_come_from_eval_pairs_and_questions(workspace: Workspace) -> None:
    chunks, tasks = load_tasks(workspace, workspace.root / "q.jsonl")
    assert [chunk.id for chunk in chunks] == ["a1", "b1"]
    assert [t.name for t in tasks] == [EVAL_PAIRS, REAL_QUESTIONS]
    assert tasks[0].queries == ("days a month?", "per diem?")
    assert tasks[0].relevant == (frozenset({0}), frozenset({1}))
    assert tasks[1].relevant == (frozenset({0}),)
    assert tasks[1].corpus == tuple(chunk.text for chunk in CHUNKS)
    assert tasks[0].passage_ids == ("a1", "b1")


def test_the_eval_pairs_corpus_loses_the_sentences_their_queries_came_from(
    workspace: Workspace,
) -> None:
    write_pairs(workspace.pairs_eval, [_pair("You earn 1.5 days a month.", "a1")])
    _, (task,) = load_tasks(workspace, None)
    assert task.corpus == ("PTO > Accrual", CHUNKS[1].text)


def test_pairs_of_missing_chunks_are_left_out(workspace: Workspace) -> None:
    assert [pair.positive_id for pair in eval_pairs(workspace, CHUNKS)] == ["a1", "b1"]


def test_no_pairs_and_no_questions_make_no_tasks(tmp_path: Path) -> None:
    write_chunks(Workspace(tmp_path).chunks, CHUNKS)
    assert eval_pairs(Workspace(tmp_path), CHUNKS) == []
    assert load_tasks(Workspace(tmp_path), None) == (CHUNKS, [])


def test_no_chunks_means_no_tasks(tmp_path: Path) -> None:
    assert load_tasks(Workspace(tmp_path), None) == ([], [])


def test_a_sample_keeps_every_answer_of_its_queries() -> None:
    corpus = tuple(f"passage {i}" for i in range(50))
    relevant = tuple(frozenset({i, (i + 25) % 50}) for i in range(20))
    task = RetrievalTask("t", tuple(f"q{i}" for i in range(20)), corpus, relevant, corpus)
    small = task.sample(10, seed=3)
    assert len(small.queries) == 10 and len(small.corpus) == 20  # answers beat the limit
    for query, rel in zip(small.queries, small.relevant, strict=True):
        original = task.queries.index(query)
        assert {small.corpus[i] for i in rel} == {corpus[i] for i in task.relevant[original]}
    assert task.sample(10, seed=3) == small  # the same seed, the same sample
    everything = task.sample(100)
    assert everything.queries == task.queries and set(everything.corpus) == set(corpus)


def test_heldout_texts_take_eval_sentences_out_of_their_chunk() -> None:
    text = (
        "Travel > Per diem\nThe per diem is 75 dollars a day. Receipts are not needed for it. "
        "Hotels are booked in the portal."
    )
    chunk = Chunk("c1", "travel.md", "Travel", "Per diem", text, 20, 0)
    other = Chunk("c2", "pto.md", "PTO", "", "PTO\nFive days roll over.", 4, 0)
    taken = Pair(
        "The per diem is 75 dollars a day.",
        "c1",
        text.replace("The per diem is 75 dollars a day. ", ""),
        "travel.md",
        "ict",
        "ict",
        "none",
    )
    kept = Pair("Hotels are booked in the portal.", "c1", text, "travel.md", "ict", "ict", "none")
    texts = heldout_texts([taken, kept], [chunk, other])
    assert texts == {"c1": "Travel > Per diem\nReceipts are not needed for it."}
