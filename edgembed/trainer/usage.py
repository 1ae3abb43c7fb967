"""Training pairs from use: the queries `serve --log-queries` logged, and `POST /v1/feedback`.

A logged query has no answer attached, so it is labelled against the corpus by a rule:
the passage that the model being trained and BM25 both rank first. Two retrievers that work
differently agreeing on the top passage was right for 61-86% of real questions on four
question sets (the model's top passage alone: 28-58%), and it kept 24-34% of them; the rest
are dropped and counted (see docs/findings.md). Feedback is labelled by a person: a passage
marked as answering is a positive, one marked as not answering is a hard negative.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from edgembed.corpus import Chunk
from edgembed.corpus.pairs import Pair
from edgembed.errors import InputError
from edgembed.evaluation.bm25 import BM25
from edgembed.trainer.datagen.filters import normalize_query

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["FeedbackRow", "UsagePairs", "label_queries", "read_feedback", "read_query_log"]


@dataclass(frozen=True)
class FeedbackRow:
    """One judgement: did this passage answer this query."""

    query: str
    chunk_id: str | None
    passage: str | None
    relevant: bool


@dataclass
class UsagePairs:
    """The pairs made from use, the hard negatives people marked, and what was dropped."""

    pairs: list[Pair] = field(default_factory=list)
    negatives: dict[str, list[str]] = field(default_factory=dict)  # query -> passages
    dropped: Counter[str] = field(default_factory=Counter)
    queries: int = 0


def read_query_log(path: Path) -> list[str]:
    """The distinct queries of a query log (``{"text": ...}`` per line; a real-questions file's
    ``{"question": ...}`` lines are read too), in order of first appearance.

    Raises:
        InputError: the file is missing or a line is not a JSON object with a text.
    """
    if not path.exists():
        raise InputError(f"query log {path} not found. `edgembed serve --log-queries` writes one.")
    seen: set[str] = set()
    queries: list[str] = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                text = row.get("text", row.get("question"))
            except (json.JSONDecodeError, AttributeError) as exc:
                raise InputError(f"{path}:{number} is not a JSON object: {exc}") from exc
            if not isinstance(text, str):
                raise InputError(f'{path}:{number} has no "text": is this a query log?')
            key = normalize_query(text)
            if key and key not in seen:
                seen.add(key)
                queries.append(text.strip())
    return queries


def read_feedback(path: Path) -> list[FeedbackRow]:
    """Every row of a feedback database written by `edgembed serve --feedback-db`.

    Raises:
        InputError: the file is missing or is not a feedback database.
    """
    if not path.exists():
        raise InputError(f"feedback database {path} not found. `serve --feedback-db` makes one.")
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            rows = db.execute(
                "SELECT query, chunk_id, passage, relevant FROM feedback ORDER BY id"
            ).fetchall()
    except sqlite3.Error as exc:
        raise InputError(f"{path} is not an edgembed feedback database: {exc}") from exc
    return [FeedbackRow(q, c, p, bool(r)) for q, c, p, r in rows]


def _chunk_of(row: FeedbackRow, by_id: dict[str, Chunk], by_text: dict[str, Chunk]) -> Chunk | None:
    if row.chunk_id and row.chunk_id in by_id:
        return by_id[row.chunk_id]
    if row.passage:
        return by_text.get(" ".join(row.passage.split()))
    return None


def _pair(query: str, chunk: Chunk, kind: str) -> Pair:
    return Pair(query, chunk.id, chunk.text, chunk.doc, kind, "usage", "none")  # type: ignore[arg-type]


def label_queries(
    queries: Sequence[str],
    feedback: Sequence[FeedbackRow],
    chunks: Sequence[Chunk],
    model: SentenceTransformer,
    exclude: frozenset[str] = frozenset(),
) -> UsagePairs:
    """Turn logged queries and feedback into training pairs over `chunks`.

    Args:
        queries: logged queries, unlabeled.
        feedback: people's judgements; they win over the rule for the same query.
        chunks: the corpus.
        model: labels the logged queries (with BM25).
        exclude: chunk ids never to use as positives (the held-out eval chunks).
    """
    out = UsagePairs(queries=len(queries))
    by_id = {chunk.id: chunk for chunk in chunks}
    by_text = {" ".join(chunk.text.split()): chunk for chunk in chunks}
    judged: set[str] = set()
    for row in feedback:
        chunk = _chunk_of(row, by_id, by_text)
        judged.add(normalize_query(row.query))
        if chunk is None:
            out.dropped["feedback passage not in the corpus"] += 1
        elif not row.relevant:
            out.negatives.setdefault(row.query, []).append(chunk.text)
        elif chunk.id in exclude:
            out.dropped["answer is a held-out eval passage"] += 1
        else:
            out.pairs.append(_pair(row.query, chunk, "feedback"))
    todo = [q for q in queries if normalize_query(q) not in judged]
    out.dropped["already judged in feedback"] += len(queries) - len(todo)
    if not todo:
        return out
    texts = [chunk.text for chunk in chunks]
    corpus = model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
    embedded = model.encode(todo, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
    dense_top = np.argmax(embedded @ corpus.T, axis=1)
    lexical_top = np.argmax(BM25(texts).scores(todo), axis=1)
    for query, dense, lexical in zip(todo, dense_top, lexical_top, strict=True):
        chunk = chunks[int(dense)]
        if dense != lexical:
            out.dropped["model and BM25 disagree on the answer"] += 1
        elif chunk.id in exclude:
            out.dropped["answer is a held-out eval passage"] += 1
        else:
            out.pairs.append(_pair(query, chunk, "logged"))
    return out
