"""The learn-from-use protocol's labelled mode: half A becomes feedback with its true answers."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.learn_from_use import feedback_db, split_questions
from edgembed.corpus import Chunk, write_chunks
from edgembed.formats.feedback import read_marks


def _chunk(id_: str, doc: str, text: str, position: int) -> Chunk:
    return Chunk(id_, doc, doc, "", text, len(text.split()), position)


def test_feedback_db_marks_the_passage_holding_each_asked_questions_evidence(
    tmp_path: Path,
) -> None:
    chunks = [
        _chunk("a0", "a.md", "Unused days carry over until March.", 0),
        _chunk("a1", "a.md", "Blackout weeks close the quarter.", 1),
        _chunk("b0", "b.md", "The VPN needs a hardware key.", 0),
        _chunk("b1", "b.md", "Laptops are renewed every three years.", 1),
    ]
    write_chunks(tmp_path / "chunks.jsonl", chunks)
    rows = [
        {"question": f"q{i}", "doc": doc, "evidence": evidence}
        for i, (doc, evidence) in enumerate(
            [
                ("a.md", "carry over until march"),
                ("a.md", "blackout weeks"),
                ("b.md", "hardware key"),
                ("b.md", "renewed every three years"),
            ]
        )
    ]
    rows.append({"question": "q4", "doc": "b.md"})  # the whole document answers: left out
    questions = tmp_path / "questions.jsonl"
    questions.write_text("".join(json.dumps(row) + "\n" for row in rows))

    log, heldout = split_questions(questions, tmp_path / "halves")
    asked = [json.loads(line)["text"] for line in log.read_text().splitlines()]
    held = [json.loads(line)["question"] for line in heldout.read_text().splitlines()]
    assert sorted(asked + held) == [f"q{i}" for i in range(5)] and not set(asked) & set(held)

    asked = ["q0", "q2", "q4"]
    log.write_text("".join(json.dumps({"text": q}) + "\n" for q in asked))
    feedback = read_marks(feedback_db(log, questions, tmp_path))

    expected = {("q0", "a0"), ("q2", "b0")}
    assert {(row.query, row.chunk_id) for row in feedback} == expected
    assert all(row.relevant for row in feedback)
