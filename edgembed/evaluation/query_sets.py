"""Query sets: the questions retrieval is scored on, with the corpus passages that answer them.

Two sources, read the same way by evaluate, export and bench: the workspace's held-out eval
pairs (pairs.eval.jsonl) and a user's real questions (see `questions`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from edgembed.corpus import Chunk, read_chunks
from edgembed.corpus.pairs import Pair, read_pairs
from edgembed.evaluation.questions import load_real_questions
from edgembed.workspace import Workspace

__all__ = [
    "EVAL_PAIRS",
    "REAL_QUESTIONS",
    "QuerySet",
    "build_query_sets",
    "eval_pairs",
    "load_query_sets",
]

log = logging.getLogger(__name__)

EVAL_PAIRS = "eval pairs"
REAL_QUESTIONS = "real questions"


@dataclass(frozen=True)
class QuerySet:
    """Queries and, per query, the corpus indices that answer it."""

    name: str
    queries: list[str]
    relevant: list[set[int]]


def eval_pairs(workspace: Workspace, chunks: Sequence[Chunk]) -> list[Pair]:
    """The workspace's eval pairs whose passage is among `chunks` (none without the file).

    Raises:
        InputError: pairs.eval.jsonl is malformed.
    """
    if not workspace.pairs_eval.exists():
        return []
    ids = {chunk.id for chunk in chunks}
    pairs = read_pairs(workspace.pairs_eval)
    kept = [pair for pair in pairs if pair.positive_id in ids]
    if len(kept) < len(pairs):
        log.warning(
            "%d eval pairs point at chunks missing from chunks.jsonl", len(pairs) - len(kept)
        )
    return kept


def build_query_sets(
    chunks: Sequence[Chunk], pairs: Sequence[Pair], questions: Path | None
) -> list[QuerySet]:
    """The eval pairs (when there are any) and the real questions (when given), over `chunks`.

    Raises:
        InputError: the questions file is malformed or matches no chunk.
    """
    index = {chunk.id: i for i, chunk in enumerate(chunks)}
    sets: list[QuerySet] = []
    if pairs:
        sets.append(
            QuerySet(EVAL_PAIRS, [p.query for p in pairs], [{index[p.positive_id]} for p in pairs])
        )
    if questions is not None:
        real = load_real_questions(questions, chunks)
        sets.append(
            QuerySet(REAL_QUESTIONS, [q.question for q in real], [set(q.relevant) for q in real])
        )
    return sets


def load_query_sets(
    workspace: Workspace, questions: Path | None
) -> tuple[list[Chunk], list[QuerySet]]:
    """The workspace's chunk corpus and the query sets to score on it.

    Returns:
        no chunks and no sets when the workspace has no chunks.jsonl (nothing to retrieve
        from); the caller says that it skipped.

    Raises:
        InputError: a file exists but is malformed, or the questions match no chunk.
    """
    if not workspace.chunks.exists():
        return [], []
    chunks = read_chunks(workspace.chunks)
    return chunks, build_query_sets(chunks, eval_pairs(workspace, chunks), questions)
