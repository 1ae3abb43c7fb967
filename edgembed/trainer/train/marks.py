"""Training pairs from use: the queries `serve --log-queries` logged, and `POST /v1/feedback`.

A logged query has no answer attached, so it is labelled against the corpus by a rule:
the passage that the model being trained and BM25 both rank first. Two retrievers that work
differently agreeing on the top passage was right for 61-86% of real questions on four
question sets (the model's top passage alone: 28-58%), and it kept 24-34% of them; the rest
are dropped and counted (see docs/findings.md). Feedback is labelled by a person: a passage
marked as answering is a positive, one marked as not answering is a hard negative.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edgembed.corpus import Chunk
from edgembed.corpus.sentences import normalize_query
from edgembed.evaluation.bm25 import BM25
from edgembed.formats.feedback import Mark, read_marks
from edgembed.formats.pairs import Pair
from edgembed.formats.querylog import LoggedQuery, read_query_log
from edgembed.models.encode import NO_PROMPTS, Prompts, encode
from edgembed.trainer.train.data import TrainingData

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

__all__ = ["UsagePairs", "add_usage", "distinct_queries", "label_queries", "read_usage"]


@dataclass
class UsagePairs:
    """The pairs made from use, the hard negatives people marked, and what was dropped."""

    pairs: list[Pair] = field(default_factory=list)
    negatives: dict[str, list[str]] = field(default_factory=dict)  # query -> passages
    dropped: Counter[str] = field(default_factory=Counter)
    queries: int = 0


def distinct_queries(logged: Sequence[LoggedQuery]) -> list[str]:
    """The distinct texts of a query log, in order of first appearance."""
    seen: set[str] = set()
    queries: list[str] = []
    for query in logged:
        key = normalize_query(query.text)
        if key and key not in seen:
            seen.add(key)
            queries.append(query.text.strip())
    return queries


def _chunk_of(row: Mark, by_id: dict[str, Chunk], by_text: dict[str, Chunk]) -> Chunk | None:
    if row.chunk_id and row.chunk_id in by_id:
        return by_id[row.chunk_id]
    if row.passage:
        return by_text.get(" ".join(row.passage.split()))
    return None


def _pair(query: str, chunk: Chunk, kind: str) -> Pair:
    return Pair(query, chunk.id, chunk.text, chunk.doc, kind, "usage", "none")  # type: ignore[arg-type]


def label_queries(
    queries: Sequence[str],
    feedback: Sequence[Mark],
    chunks: Sequence[Chunk],
    model: SentenceTransformer,
    exclude: frozenset[str] = frozenset(),
    prompts: Prompts = NO_PROMPTS,
) -> UsagePairs:
    """Turn logged queries and feedback into training pairs over `chunks`.

    Args:
        queries: logged queries, unlabeled.
        feedback: people's judgements; they win over the rule for the same query.
        chunks: the corpus.
        model: labels the logged queries (with BM25).
        exclude: chunk ids never to use as positives of logged queries (the held-out eval
            chunks); people's marks are kept whatever passage they name.
        prompts: the model's query and document prompts.
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
        else:  # a person's mark is kept even on a held-out eval passage: it is worth more
            out.pairs.append(_pair(row.query, chunk, "feedback"))
    todo = [q for q in queries if normalize_query(q) not in judged]
    out.dropped["already judged in feedback"] += len(queries) - len(todo)
    if not todo:
        return out
    texts = [chunk.text for chunk in chunks]
    corpus = encode(model, texts, prompts.document)
    embedded = encode(model, todo, prompts.query, batch_size=64)
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


def read_usage(queries: Path | None, feedback: Path | None) -> tuple[list[str], list[Mark]] | None:
    """The distinct logged queries and the marks to train on (None when neither is given),
    read before anything is written so a bad file fails fast.

    Raises:
        InputError: a file is missing or malformed.
    """
    if queries is None and feedback is None:
        return None
    logged = distinct_queries(read_query_log(queries)) if queries else []
    return logged, read_marks(feedback) if feedback else []


def add_usage(
    model: SentenceTransformer,
    data: TrainingData,
    used: tuple[list[str], list[Mark]] | None,
    prompts: Prompts = NO_PROMPTS,
    mark_weight: int = 1,
) -> tuple[TrainingData, dict[str, list[str]], dict[str, Any]]:
    """Add the labelled logged queries and the feedback (each mark `mark_weight` times) to the
    training pairs."""
    if used is None:
        return data, {}, {}
    queries, feedback = used
    held_out = frozenset(pair.positive_id for pair in data.eval)
    usage = label_queries(queries, feedback, data.chunks, model, held_out, prompts)
    usage.pairs = [
        pair for pair in usage.pairs for _ in range(mark_weight if pair.kind == "feedback" else 1)
    ]
    kinds = Counter(pair.kind for pair in usage.pairs)
    kinds["feedback"] //= mark_weight
    summary = {
        "logged_queries": usage.queries,
        "logged_kept": kinds["logged"],
        "feedback_positives": kinds["feedback"],
        "feedback_negatives": sum(len(v) for v in usage.negatives.values()),
        "dropped": dict(usage.dropped),
    }
    log.info("real queries and feedback: %s", summary)
    return replace(data, train=data.train + tuple(usage.pairs)), usage.negatives, summary
