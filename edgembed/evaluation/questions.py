"""Real questions: a user's JSONL of questions with what answers them, mapped onto chunks.

Each line has "question" and one of these ways to say what answers it, strongest first:
- "chunk_id" or "chunk_ids": exact chunk ids from chunks.jsonl;
- "doc" with "evidence": a verbatim excerpt; the chunks of that document containing it;
- "doc" with "section": the chunks of that document whose section path contains it;
- "doc" alone: every chunk of that document.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgembed.atomic import read_jsonl
from edgembed.corpus import Chunk
from edgembed.errors import InputError

__all__ = ["RealQuestion", "load_real_questions", "normalize_text"]

_WS = re.compile(r"\s+")


@dataclass(frozen=True)
class RealQuestion:
    """A question and the indices of the chunks that answer it."""

    question: str
    relevant: frozenset[int]


def normalize_text(text: str) -> str:
    """Lower case, whitespace runs as one space: how evidence is matched to passages."""
    return _WS.sub(" ", text).strip().lower()


def _relevant(row: dict[str, Any], chunks: Sequence[Chunk], bodies: Sequence[str]) -> set[int]:
    ids = row.get("chunk_ids") or ([row["chunk_id"]] if row.get("chunk_id") else [])
    if ids:
        return {i for i, chunk in enumerate(chunks) if chunk.id in set(ids)}
    doc = row.get("doc")
    if not doc:
        return set()
    in_doc = [
        i for i, chunk in enumerate(chunks) if chunk.doc == doc or Path(chunk.doc).name == doc
    ]
    evidence = normalize_text(str(row.get("evidence") or ""))
    if evidence:
        found = {i for i in in_doc if evidence in bodies[i]}
        if found:
            return found
    section = normalize_text(str(row.get("section") or ""))
    if section:
        found = {
            i
            for i in in_doc
            if section in normalize_text(chunks[i].section) or section in bodies[i]
        }
        if found:
            return found
    return set(in_doc)


def load_real_questions(path: Path, chunks: Sequence[Chunk]) -> list[RealQuestion]:
    """Read a real-questions file and resolve each question to its relevant chunks.

    Raises:
        InputError: the file is missing or malformed, or a question matches no chunk (the
            questions and the corpus do not belong together).
    """
    if not path.exists():
        raise InputError(f"questions file {path} not found")
    bodies = [normalize_text(chunk.text) for chunk in chunks]
    questions: list[RealQuestion] = []
    unmatched: list[str] = []
    try:
        rows = list(read_jsonl(path))
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    for number, row in enumerate(rows, start=1):
        text = row.get("question")
        if not isinstance(text, str) or not text.strip():
            raise InputError(f'{path}:{number}: each line needs a non-empty "question"')
        relevant = _relevant(row, chunks, bodies)
        if relevant:
            questions.append(RealQuestion(text.strip(), frozenset(relevant)))
        else:
            unmatched.append(text)
    if unmatched and len(unmatched) > len(rows) // 10:
        raise InputError(
            f"{len(unmatched)} of {len(rows)} questions in {path} match no chunk (e.g. "
            f'\'{unmatched[0]}\'). Check their "doc"/"chunk_id" against chunks.jsonl.'
        )
    return questions
