"""The retrieval task every stage scores a model on: queries, the passages they are retrieved
from, and which passages answer each query.

Two kinds, built here once and read the same way by train (the per-epoch evaluation), evaluate,
export (the int8 gate) and bench (accuracy per backend), as sentence-transformers'
InformationRetrievalEvaluator owns its task:

- the eval pairs (pairs.eval.jsonl): held-out synthetic queries against the chunks, where every
  sentence an eval query was taken from is removed from its passage (an ICT query is a sentence
  of its own chunk: against the chunk as it is, BM25 finds it with NDCG@10 1.0);
- real questions (a user's questions.jsonl): against the chunks as they are.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from edgembed.corpus import Chunk, read_chunks
from edgembed.corpus.sentences import strip_sentences
from edgembed.evaluation.questions import load_real_questions, normalize_text
from edgembed.formats.feedback import Mark
from edgembed.formats.pairs import Pair, read_pairs
from edgembed.workspace import Workspace

__all__ = [
    "EVAL_PAIRS",
    "MARKS",
    "REAL_QUESTIONS",
    "RetrievalTask",
    "corpus_only_task",
    "eval_pairs",
    "eval_pairs_task",
    "heldout_texts",
    "load_tasks",
    "marks_task",
    "real_questions_task",
]

log = logging.getLogger(__name__)

EVAL_PAIRS = "eval pairs"
REAL_QUESTIONS = "real questions"
MARKS = "marks"


@dataclass(frozen=True)
class RetrievalTask:
    """Queries, the passages they are retrieved from, and the passages that answer each.

    Attributes:
        name: ``eval pairs`` or ``real questions`` (or a corpus-only task's source).
        queries: the questions, in order.
        corpus: the passage texts as they are retrieved.
        relevant: per query, the corpus indices that answer it.
        passage_ids: the chunk id of each corpus entry.
    """

    name: str
    queries: tuple[str, ...]
    corpus: tuple[str, ...]
    relevant: tuple[frozenset[int], ...]
    passage_ids: tuple[str, ...]

    def sample(self, limit: int, seed: int = 0, passages: int | None = None) -> RetrievalTask:
        """At most `limit` queries (drawn with `seed`) and at most `passages` passages (default:
        `limit`): every passage that answers a kept query, then others drawn at random."""
        rng = random.Random(seed)
        most = limit if passages is None else passages
        picked = sorted(rng.sample(range(len(self.queries)), min(limit, len(self.queries))))
        answers = sorted({index for i in picked for index in self.relevant[i]})
        others = sorted(set(range(len(self.corpus))) - set(answers))
        room = max(0, min(most - len(answers), len(others)))
        kept = answers + rng.sample(others, room)
        position = {index: new for new, index in enumerate(kept)}
        return replace(
            self,
            queries=tuple(self.queries[i] for i in picked),
            corpus=tuple(self.corpus[i] for i in kept),
            relevant=tuple(frozenset(position[j] for j in self.relevant[i]) for i in picked),
            passage_ids=tuple(self.passage_ids[i] for i in kept),
        )

    def at_most(self, queries: int, passages: int, seed: int = 0) -> RetrievalTask:
        """The task itself when it is within the bounds, else a `sample` of it."""
        if len(self.queries) <= queries and len(self.corpus) <= passages:
            return self
        return self.sample(queries, seed, passages)


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


def heldout_texts(pairs: Sequence[Pair], chunks: Sequence[Chunk]) -> dict[str, str]:
    """The text each eval chunk has in the eval pairs' corpus: without every sentence that an
    eval pair took out of its passage or that holds an eval query (as training does). Chunks
    without eval pairs keep their text.

    Returns:
        chunk id -> text, for the chunks that eval pairs point at.
    """
    by_chunk: dict[str, list[Pair]] = {}
    for pair in pairs:
        by_chunk.setdefault(pair.positive_id, []).append(pair)
    texts: dict[str, str] = {}
    for chunk in chunks:
        own = by_chunk.get(chunk.id)
        if not own:
            continue
        queries = [normalize_text(p.query) for p in own]
        positives = [normalize_text(p.positive) for p in own]

        def drop(
            sentence: str, queries: list[str] = queries, positives: list[str] = positives
        ) -> bool:
            text = normalize_text(sentence.lstrip("-*• ").rstrip(";,"))
            found = any(text in q for q in queries) or any(text not in p for p in positives)
            return bool(text) and found

        texts[chunk.id] = strip_sentences(chunk, drop)
    return texts


def eval_pairs_task(chunks: Sequence[Chunk], pairs: Sequence[Pair]) -> RetrievalTask:
    """The eval pairs against the whole corpus, their own sentences taken out (see the module
    docstring); every pair's passage must be among `chunks`."""
    index = {chunk.id: i for i, chunk in enumerate(chunks)}
    heldout = heldout_texts(pairs, chunks)
    return RetrievalTask(
        name=EVAL_PAIRS,
        queries=tuple(p.query for p in pairs),
        corpus=tuple(heldout.get(chunk.id, chunk.text) for chunk in chunks),
        relevant=tuple(frozenset({index[p.positive_id]}) for p in pairs),
        passage_ids=tuple(chunk.id for chunk in chunks),
    )


def real_questions_task(chunks: Sequence[Chunk], questions: Path) -> RetrievalTask:
    """A user's real questions against the chunks as they are.

    Raises:
        InputError: the questions file is malformed or matches no chunk.
    """
    real = load_real_questions(questions, chunks)
    return RetrievalTask(
        name=REAL_QUESTIONS,
        queries=tuple(q.question for q in real),
        corpus=tuple(chunk.text for chunk in chunks),
        relevant=tuple(frozenset(q.relevant) for q in real),
        passage_ids=tuple(chunk.id for chunk in chunks),
    )


def marks_task(chunks: Sequence[Chunk], marks: Sequence[Mark]) -> RetrievalTask:
    """People's marks as questions: each query marked as answered by at least one passage of
    the corpus, against the chunks as they are (marks of other passages, or only "does not
    answer" marks, give no question)."""
    by_id = {chunk.id: i for i, chunk in enumerate(chunks)}
    by_text = {" ".join(chunk.text.split()): i for i, chunk in enumerate(chunks)}
    answers: dict[str, set[int]] = {}
    for mark in marks:
        if not mark.relevant:
            continue
        index = by_id.get(mark.chunk_id or "")
        if index is None and mark.passage:
            index = by_text.get(" ".join(mark.passage.split()))
        if index is not None:
            answers.setdefault(mark.query.strip(), set()).add(index)
    return RetrievalTask(
        name=MARKS,
        queries=tuple(answers),
        corpus=tuple(chunk.text for chunk in chunks),
        relevant=tuple(frozenset(found) for found in answers.values()),
        passage_ids=tuple(chunk.id for chunk in chunks),
    )


def corpus_only_task(name: str, texts: Sequence[str], ids: Sequence[str] = ()) -> RetrievalTask:
    """Passages without queries: what a parity check compares when there is nothing to
    retrieve with."""
    return RetrievalTask(name, (), tuple(texts), (), tuple(ids) or tuple(map(str, texts)))


def load_tasks(
    workspace: Workspace, questions: Path | None
) -> tuple[list[Chunk], list[RetrievalTask]]:
    """The workspace's chunks and the tasks to score on them: the eval pairs (when there are
    any), then the real questions (when given).

    Returns:
        no chunks and no tasks when the workspace has no chunks.jsonl (nothing to retrieve
        from); the caller says that it skipped.

    Raises:
        InputError: a file exists but is malformed, or the questions match no chunk.
    """
    if not workspace.chunks.exists():
        return [], []
    chunks = read_chunks(workspace.chunks)
    tasks: list[RetrievalTask] = []
    pairs = eval_pairs(workspace, chunks)
    if pairs:
        tasks.append(eval_pairs_task(chunks, pairs))
    if questions is not None:
        tasks.append(real_questions_task(chunks, questions))
    return chunks, tasks
