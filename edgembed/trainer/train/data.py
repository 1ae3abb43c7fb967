"""Training inputs: pairs files, the chunk corpus, and hard negatives mined from it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from edgembed.corpus import Chunk, read_chunks
from edgembed.errors import InputError
from edgembed.models.encode import NO_PROMPTS, Prompts, encode
from edgembed.workspace import Workspace

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from edgembed.formats.pairs import Pair

__all__ = ["TrainingData", "load_training_data", "mine_hard_negatives"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingData:
    """Everything a training run reads from the workspace."""

    chunks: tuple[Chunk, ...]
    train: tuple[Pair, ...]
    eval: tuple[Pair, ...]


def load_training_data(workspace: Workspace) -> TrainingData:
    """Read chunks.jsonl and both pairs files.

    Raises:
        InputError: a file is missing or empty (the eval pairs too: they pick the best epoch);
            the message says which command makes it.
    """
    from edgembed.formats.pairs import read_pairs

    chunks = tuple(read_chunks(workspace.chunks))
    missing = [p for p in (workspace.pairs_train, workspace.pairs_eval) if not p.exists()]
    if missing:
        raise InputError(
            f"{missing[0]} not found. Run `edgembed generate DOCS` first to make training pairs."
        )
    train = tuple(read_pairs(workspace.pairs_train))
    evaluation = tuple(read_pairs(workspace.pairs_eval))
    if len(train) < 2:
        raise InputError(
            f"{workspace.pairs_train} has {len(train)} pairs; training needs at least 2. "
            "Add documents or raise --max-pairs in `edgembed generate`."
        )
    if not evaluation:
        raise InputError(
            f"{workspace.pairs_eval} has no pairs; training needs held-out eval pairs to score "
            "each epoch and keep the best one. Re-run `edgembed generate DOCS --force` with "
            "--eval-fraction above 0 (default 0.15) on documents that make at least two chunks "
            "(add documents or lower --chunk-words)."
        )
    known = {chunk.id for chunk in chunks}
    stale = [p for p in evaluation if p.positive_id not in known]
    if stale:
        raise InputError(
            f"{len(stale)} eval pairs point at chunks missing from {workspace.chunks}: the pairs "
            "and chunks are out of step. Re-run `edgembed generate DOCS --force`."
        )
    return TrainingData(chunks, train, evaluation)


def mine_hard_negatives(
    model: SentenceTransformer,
    pairs: Sequence[Pair],
    chunks: Sequence[Chunk],
    prompts: Prompts = NO_PROMPTS,
    *,
    count: int = 1,
    skip_top: int = 2,
    depth: int = 30,
    margin: float = 0.95,
) -> list[list[str]]:
    """Pick `count` hard negative passages per pair with the base model.

    A negative is a chunk ranked below the first `skip_top` results (the very top is too often
    a second correct answer in policy documents), scoring under `margin` times the positive's
    score, and never a chunk of the positive's own section; the highest ranked such chunks
    are taken, and the lowest ranked of the `depth` looked at make up any shortfall.

    Returns:
        `count` chunk texts per pair.
    """
    texts = [chunk.text for chunk in chunks]
    corpus = encode(model, texts, prompts.document)
    queries = encode(model, [p.query for p in pairs], prompts.query, batch_size=64)
    index = {chunk.id: i for i, chunk in enumerate(chunks)}
    scores = queries @ corpus.T
    negatives: list[list[str]] = []
    for row, pair in zip(scores, pairs, strict=True):
        positive = index.get(pair.positive_id)
        pos_score = row[positive] if positive is not None else float(row.max())
        section = (chunks[positive].doc, chunks[positive].section) if positive is not None else None
        order = np.argsort(-row)[: depth + skip_top]
        candidates = [
            int(i)
            for i in order[skip_top:]
            if int(i) != positive
            and (chunks[int(i)].doc, chunks[int(i)].section) != section
            and row[i] < margin * pos_score
        ]
        fill = [int(i) for i in order[::-1] if int(i) != positive and int(i) not in candidates]
        chosen = (candidates + fill)[:count]
        negatives.append([texts[i] for i in chosen])
    return negatives
