"""The texts the parity check embeds: the workspace's eval questions and passages when they
exist, else its chunks, else a built-in set of varied sentences; and always a set of one-to-
three-word inputs.

Only the held-out eval questions count. Topping them up with the training pairs' questions was
tried, to steady a gate that a few dozen questions make noisy: it hid a real loss. ICT
questions are sentences lifted from the passages, easy to match even with int8's noise; with
430 of them all-int8 MiniLM kept over 99.5% of PyTorch's NDCG@10, while on the 130
hand-written sample questions it kept 97.6%, and the 61 eval questions alone (97.8%) had
rightly sent the exporter to the safer recipe.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from pathlib import Path

from edgembed.corpus import read_chunks
from edgembed.errors import InputError
from edgembed.evaluation.query_sets import eval_pairs
from edgembed.evaluation.questions import load_real_questions
from edgembed.evaluation.texts import BUILTIN_TEXTS, SHORT_TEXTS
from edgembed.workspace import Workspace

__all__ = ["ParityTexts", "load_parity_texts"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ParityTexts:
    """Queries and passages to embed, and which passages answer which query.

    Attributes:
        queries: eval questions; empty when the workspace has no eval pairs.
        corpus: passages (chunks, or the built-in texts).
        relevant: per query, the corpus indices that answer it.
        source: where the texts came from, for the report.
        short: one-to-three-word inputs, compared with PyTorch but not retrieved.
    """

    queries: tuple[str, ...]
    corpus: tuple[str, ...]
    relevant: tuple[frozenset[int], ...]
    source: str
    short: tuple[str, ...] = ()

    @property
    def texts(self) -> list[str]:
        """Queries, passages, then short inputs: the order the embeddings are compared in."""
        return [*self.queries, *self.corpus, *self.short]


def load_parity_texts(
    workspace: Workspace, limit: int, seed: int = 0, questions: Path | None = None
) -> ParityTexts:
    """Pick the parity texts: at most `limit` queries and `limit` passages, sampled with `seed`.
    With `questions` (a real-questions JSONL, as `evaluate` reads) those are the queries, in
    place of the eval pairs: the evidence closest to real use.

    Raises:
        InputError: chunks.jsonl or pairs.eval.jsonl exists but is malformed; `questions` is
            given without chunks, or does not match them.
    """
    rng = random.Random(seed)
    if questions is not None:
        return _real_questions(workspace, questions, limit, rng)
    if not workspace.chunks.exists():
        return ParityTexts((), BUILTIN_TEXTS, (), "built-in sentences", SHORT_TEXTS)
    all_chunks = read_chunks(workspace.chunks)
    chunks = {chunk.id: chunk.text for chunk in all_chunks}
    if not chunks:
        return ParityTexts((), BUILTIN_TEXTS, (), "built-in sentences", SHORT_TEXTS)
    pairs = [(pair.query, pair.positive_id) for pair in eval_pairs(workspace, all_chunks)]
    if not pairs:
        ids = sorted(chunks)
        picked = rng.sample(ids, min(limit, len(ids)))
        corpus = tuple(chunks[i] for i in picked)
        return ParityTexts((), corpus, (), f"{workspace.chunks}", SHORT_TEXTS)
    pairs = rng.sample(pairs, min(limit, len(pairs)))
    positives = sorted({chunk_id for _, chunk_id in pairs})
    others = sorted(set(chunks) - set(positives))
    corpus_ids = positives + rng.sample(others, max(0, min(limit - len(positives), len(others))))
    index = {chunk_id: i for i, chunk_id in enumerate(corpus_ids)}
    return ParityTexts(
        queries=tuple(query for query, _ in pairs),
        corpus=tuple(chunks[i] for i in corpus_ids),
        relevant=tuple(frozenset({index[chunk_id]}) for _, chunk_id in pairs),
        source=f"{workspace.pairs_eval} over {workspace.chunks}",
        short=SHORT_TEXTS,
    )


def _real_questions(
    workspace: Workspace, path: Path, limit: int, rng: random.Random
) -> ParityTexts:
    chunks = read_chunks(workspace.chunks) if workspace.chunks.exists() else []
    if not chunks:
        raise InputError(
            f"real questions ({path}) are matched to the workspace's passages, but "
            f"{workspace.chunks} is missing or empty. Run `edgembed chunk DOCS` first."
        )
    real = load_real_questions(path, chunks)
    picked = rng.sample(real, min(limit, len(real)))
    answers = sorted({index for question in picked for index in question.relevant})
    others = sorted(set(range(len(chunks))) - set(answers))
    corpus_ids = answers + rng.sample(others, max(0, min(limit - len(answers), len(others))))
    position = {chunk: i for i, chunk in enumerate(corpus_ids)}
    return ParityTexts(
        queries=tuple(question.question for question in picked),
        corpus=tuple(chunks[i].text for i in corpus_ids),
        relevant=tuple(frozenset(position[i] for i in q.relevant) for q in picked),
        source=f"{path} over {workspace.chunks}",
        short=SHORT_TEXTS,
    )
