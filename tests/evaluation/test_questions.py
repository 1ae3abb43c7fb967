from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgembed.corpus import Chunk
from edgembed.errors import InputError
from edgembed.evaluation.questions import load_real_questions

CHUNKS = [
    Chunk("a1", "pto.md", "PTO", "Accrual", "PTO > Accrual\nYou earn 1.5 days a month.", 8, 0),
    Chunk(
        "a2", "pto.md", "PTO", "Carry-over", "PTO > Carry-over\nUp to five days roll over.", 8, 1
    ),
    Chunk("b1", "dir/travel.md", "Travel", "", "Travel\nThe per diem is $75.", 5, 0),
]


def _write(tmp_path: Path, rows: list[dict[str, str]]) -> Path:
    path = tmp_path / "q.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_relevance_from_evidence_section_doc_and_ids(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        [
            {"question": "rollover?", "doc": "pto.md", "evidence": "five  days roll\nover"},
            {"question": "accrual?", "doc": "pto.md", "section": "Accrual"},
            {"question": "pto?", "doc": "pto.md"},
            {"question": "per diem?", "doc": "travel.md"},
            {"question": "by id", "chunk_id": "a2"},
        ],
    )
    questions = load_real_questions(path, CHUNKS)
    assert [set(q.relevant) for q in questions] == [{1}, {0}, {0, 1}, {2}, {1}]


def test_evidence_not_found_falls_back_to_section(tmp_path: Path) -> None:
    path = _write(
        tmp_path, [{"question": "q", "doc": "pto.md", "evidence": "absent", "section": "Accrual"}]
    )
    assert set(load_real_questions(path, CHUNKS)[0].relevant) == {0}


def test_questions_that_match_nothing_are_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path, [{"question": "q", "doc": "nope.md"}])
    with pytest.raises(InputError, match="match no chunk"):
        load_real_questions(path, CHUNKS)


def test_missing_question_field(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="question"):
        load_real_questions(_write(tmp_path, [{"doc": "pto.md"}]), CHUNKS)
    with pytest.raises(InputError, match="not found"):
        load_real_questions(tmp_path / "absent.jsonl", CHUNKS)
