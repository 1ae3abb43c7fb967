"""A small workspace (chunks + pairs files) for training and evaluation tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgembed.corpus import Chunk, write_chunks
from edgembed.formats.pairs import Pair, write_pairs
from edgembed.workspace import Workspace

TOPICS = [
    ("pto.md", "Carry-over", "Up to five unused PTO days roll over into the next year."),
    ("pto.md", "Accrual", "Employees earn one and a half PTO days for every month worked."),
    ("travel.md", "Per diem", "The travel per diem is seventy-five dollars a day for meals."),
    ("travel.md", "Booking", "Book flights in the travel portal at least fourteen days ahead."),
    ("security.md", "MFA", "Multi-factor authentication is required on every company account."),
    ("security.md", "Phishing", "Report phishing emails with the report button in the mail app."),
    ("wfh.md", "Stipend", "Remote employees get a one-time home office stipend of 500 dollars."),
    ("wfh.md", "Core hours", "Core hours for remote work are ten to three in your time zone."),
]
QUESTIONS = [
    "can I keep my leftover vacation days",
    "how many days off do I get each month",
    "how much money for food on a trip",
    "how early should I book my flight",
    "do I need two factor login",
    "what do I do with a suspicious email",
    "is there money for my home desk",
    "what hours must I be online when working from home",
]


def make_workspace(root: Path) -> Workspace:
    ws = Workspace(root)
    chunks = [
        Chunk(f"c{i}", doc, doc, section, f"{doc} > {section}\n{text}", len(text.split()), 0)
        for i, (doc, section, text) in enumerate(TOPICS)
    ]
    write_chunks(ws.chunks, chunks)
    pairs = [
        Pair(q, c.id, c.text, c.doc, "question", "test", "none")
        for q, c in zip(QUESTIONS, chunks, strict=True)
    ]
    write_pairs(ws.pairs_train, pairs[:6] * 2)
    write_pairs(ws.pairs_eval, pairs[6:])
    return ws


@pytest.fixture()
def workspace(tmp_path: Path) -> Workspace:
    return make_workspace(tmp_path / "ws")


@pytest.fixture()
def questions_file(tmp_path: Path) -> Path:
    path = tmp_path / "questions.jsonl"
    rows = [
        {"question": q, "doc": doc, "section": s}
        for q, (doc, s, _) in zip(QUESTIONS, TOPICS, strict=True)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path
