"""Retrieval metrics over a whole corpus, in numpy only (used by evaluate, export and bench).

Every function takes a score matrix (queries x corpus, higher is better) and, per query, the
set of corpus indices that are relevant. Relevance is binary.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "RetrievalMetrics",
    "ndcg_per_query",
    "rank_corpus",
    "retrieval_metrics",
    "top_k",
]


@dataclass(frozen=True)
class RetrievalMetrics:
    """Mean retrieval figures over a set of queries."""

    queries: int
    accuracy_at_1: float
    accuracy_at_3: float
    accuracy_at_5: float
    mrr_at_10: float
    ndcg_at_10: float
    recall_at_10: float

    def to_json(self) -> dict[str, float | int]:
        return asdict(self)


def top_k(scores: NDArray[np.floating], k: int) -> NDArray[np.intp]:
    """Indices of the k best corpus entries per query, best first (ties broken by index)."""
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, kth=k - 1, axis=1)[:, :k]
    order = np.take_along_axis(scores, part, axis=1)
    # stable: sort by score descending, then by index ascending
    idx = np.lexsort((part, -order), axis=1)
    return np.take_along_axis(part, idx, axis=1)


def rank_corpus(
    query_embeddings: NDArray[np.floating], corpus_embeddings: NDArray[np.floating], k: int
) -> NDArray[np.intp]:
    """Top-k corpus indices per query by dot product (cosine for normalised embeddings)."""
    return top_k(query_embeddings @ corpus_embeddings.T, k)


def _hits(ranked: NDArray[np.intp], relevant: Sequence[set[int]]) -> NDArray[np.bool_]:
    return np.array(
        [
            [int(i) in rel for i in row[:10]] + [False] * (10 - len(row[:10]))
            for row, rel in zip(ranked, relevant, strict=True)
        ],
        dtype=bool,
    ).reshape(len(relevant), 10)


_DISCOUNTS = 1.0 / np.log2(np.arange(2, 12))


def ndcg_per_query(ranked: NDArray[np.intp], relevant: Sequence[set[int]]) -> NDArray[np.float64]:
    """NDCG@10 of each query (their mean is `retrieval_metrics`' ndcg_at_10)."""
    return _ndcg(_hits(ranked, relevant), relevant)


def _ndcg(hits: NDArray[np.bool_], relevant: Sequence[set[int]]) -> NDArray[np.float64]:
    ideal = np.array([_DISCOUNTS[: min(len(rel), 10)].sum() for rel in relevant])
    result: NDArray[np.float64] = (hits * _DISCOUNTS).sum(axis=1) / ideal
    return result


def retrieval_metrics(ranked: NDArray[np.intp], relevant: Sequence[set[int]]) -> RetrievalMetrics:
    """Accuracy@1/3/5, MRR@10, NDCG@10 and Recall@10 from ranked indices (at least 10 deep,
    or the whole corpus if it is smaller).

    Raises:
        ValueError: the number of rankings and relevance sets differ, or a query has no
            relevant entry.
    """
    if len(ranked) != len(relevant):
        raise ValueError(f"{len(ranked)} rankings but {len(relevant)} relevance sets")
    if any(not rel for rel in relevant):
        raise ValueError("every query needs at least one relevant corpus entry")
    if len(relevant) == 0:
        return RetrievalMetrics(0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    hits = _hits(ranked, relevant)
    first = np.where(hits.any(axis=1), hits.argmax(axis=1), -1)
    found = hits.sum(axis=1)
    return RetrievalMetrics(
        queries=len(relevant),
        accuracy_at_1=float(hits[:, :1].any(axis=1).mean()),
        accuracy_at_3=float(hits[:, :3].any(axis=1).mean()),
        accuracy_at_5=float(hits[:, :5].any(axis=1).mean()),
        mrr_at_10=float(np.where(first >= 0, 1.0 / np.maximum(first + 1, 1), 0.0).mean()),
        ndcg_at_10=float(_ndcg(hits, relevant).mean()),
        recall_at_10=float(
            np.mean([f / min(len(rel), 10) for f, rel in zip(found, relevant, strict=True)])
        ),
    )
