"""Training inputs: pairs files, the chunk corpus, and hard negatives mined from it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from edgembed.corpus import Chunk, read_chunks
from edgembed.errors import InputError
from edgembed.evaluation.questions import normalize_text
from edgembed.workspace import Workspace

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from edgembed.corpus.pairs import Pair

__all__ = ["TrainingData", "heldout_texts", "load_training_data", "mine_hard_negatives"]

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
    from edgembed.corpus.pairs import read_pairs

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
    *,
    skip_top: int = 2,
    depth: int = 30,
    margin: float = 0.95,
) -> list[str]:
    """Pick one hard negative passage per pair with the base model.

    A negative is a chunk ranked below the first `skip_top` results (the very top is too often
    a second correct answer in policy documents), scoring under `margin` times the positive's
    score, and never a chunk of the positive's own section.

    Returns:
        one chunk text per pair.
    """
    texts = [chunk.text for chunk in chunks]
    corpus = model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
    queries = model.encode(
        [p.query for p in pairs], batch_size=64, normalize_embeddings=True, convert_to_numpy=True
    )
    index = {chunk.id: i for i, chunk in enumerate(chunks)}
    scores = queries @ corpus.T
    negatives: list[str] = []
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
        choice = candidates[0] if candidates else int(order[-1])
        negatives.append(texts[choice])
    return negatives


def heldout_texts(pairs: Sequence[Pair], chunks: Sequence[Chunk]) -> dict[str, str]:
    """The text each eval chunk has in the corpus that eval queries are retrieved from.

    An ICT query is a sentence of its own chunk: against the chunk as it is, finding it is a
    string lookup (BM25 scores 1.0 NDCG@10 on such pairs). So every sentence that an eval pair
    took out of its passage, or that holds an eval query, is taken out of the chunk here, as
    training does. Chunks without eval pairs keep their text.

    Returns:
        chunk id -> text, for the chunks that eval pairs point at.
    """
    from edgembed.trainer.datagen.ict import strip_sentences

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
