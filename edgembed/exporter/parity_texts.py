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
from edgembed.evaluation.task import (
    RetrievalTask,
    corpus_only_task,
    eval_pairs,
    eval_pairs_task,
    real_questions_task,
)
from edgembed.evaluation.texts import BUILTIN_TEXTS, SHORT_TEXTS
from edgembed.workspace import Workspace

__all__ = ["ParityTexts", "load_parity_texts"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ParityTexts:
    """The retrieval task to compare on (its queries may be empty), where it came from, and
    one-to-three-word inputs that are compared with PyTorch but not retrieved."""

    task: RetrievalTask
    source: str
    short: tuple[str, ...] = ()

    @property
    def queries(self) -> tuple[str, ...]:
        return self.task.queries

    @property
    def corpus(self) -> tuple[str, ...]:
        return self.task.corpus

    @property
    def relevant(self) -> tuple[frozenset[int], ...]:
        return self.task.relevant

    @property
    def texts(self) -> list[str]:
        """Queries, passages, then short inputs: the order the embeddings are compared in."""
        return [*self.queries, *self.corpus, *self.short]

    def groups(self) -> list[tuple[tuple[str, ...], str | None]]:
        """The texts in that order, each group with the input type it is embedded as:
        queries with the query prompt, passages with the document prompt, short inputs with
        the model's default (as a request that names neither gets)."""
        return [(self.queries, "query"), (self.corpus, "document"), (self.short, None)]


def load_parity_texts(
    workspace: Workspace, limit: int, seed: int = 0, questions: Path | None = None
) -> ParityTexts:
    """Pick the parity texts: at most `limit` queries and `limit` passages of the workspace's
    retrieval task, sampled with `seed` (`RetrievalTask.sample`). With `questions` (a
    real-questions JSONL, as `evaluate` reads) those are the queries, in place of the eval
    pairs: the evidence closest to real use.

    Raises:
        InputError: chunks.jsonl or pairs.eval.jsonl exists but is malformed; `questions` is
            given without chunks, or does not match them.
    """
    chunks = read_chunks(workspace.chunks) if workspace.chunks.exists() else []
    if questions is not None and not chunks:
        raise InputError(
            f"real questions ({questions}) are matched to the workspace's passages, but "
            f"{workspace.chunks} is missing or empty. Run `edgembed chunk DOCS` first."
        )
    if not chunks:
        builtin = "built-in sentences"
        return ParityTexts(corpus_only_task(builtin, BUILTIN_TEXTS), builtin, SHORT_TEXTS)
    if questions is not None:
        task = real_questions_task(chunks, questions)
        source = f"{questions} over {workspace.chunks}"
    elif pairs := eval_pairs(workspace, chunks):
        task = eval_pairs_task(chunks, pairs)
        source = f"{workspace.pairs_eval} over {workspace.chunks}"
    else:
        ids = [chunk.id for chunk in chunks]
        picked = sorted(random.Random(seed).sample(range(len(ids)), min(limit, len(ids))))
        texts = [chunks[i].text for i in picked]
        return ParityTexts(
            corpus_only_task(str(workspace.chunks), texts, [ids[i] for i in picked]),
            f"{workspace.chunks}",
            SHORT_TEXTS,
        )
    return ParityTexts(task.sample(limit, seed), source, SHORT_TEXTS)
