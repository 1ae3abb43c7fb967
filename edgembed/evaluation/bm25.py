"""Okapi BM25 over the chunk corpus: the lexical reference line, and half of hybrid search."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

__all__ = ["BM25", "RRF_K", "reciprocal_rank_fusion"]

_TOKEN = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    "a an and are as at be by can do does for from how i if in is it my of on or the to what "
    "when where which who will with you your".split()
)


def _tokens(text: str) -> list[str]:
    return [t for t in _TOKEN.findall(text.lower()) if t not in _STOP]


class BM25:
    """BM25 scores of queries against a fixed list of documents (k1=1.5, b=0.75), from an
    inverted index: a query costs the postings of its terms, not a pass over every document
    (a search over 100,000 passages stays in milliseconds)."""

    def __init__(self, documents: Sequence[str], k1: float = 1.5, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.size = len(documents)
        postings: dict[str, list[tuple[int, int]]] = {}
        lengths = np.zeros(self.size, dtype=np.float64)
        for index, doc in enumerate(documents):
            counts = Counter(_tokens(doc))
            lengths[index] = sum(counts.values())
            for term, tf in counts.items():
                postings.setdefault(term, []).append((index, tf))
        avg = float(lengths.mean()) if self.size else 0.0
        self._norm = k1 * (1 - b + b * lengths / max(avg, 1e-9))
        self._postings = {
            term: (
                np.fromiter((i for i, _ in rows), dtype=np.int64, count=len(rows)),
                np.fromiter((tf for _, tf in rows), dtype=np.float64, count=len(rows)),
            )
            for term, rows in postings.items()
        }
        n = self.size
        self._idf = {
            t: math.log(1 + (n - len(r) + 0.5) / (len(r) + 0.5)) for t, r in postings.items()
        }

    def scores(self, queries: Sequence[str]) -> NDArray[np.float64]:
        """A (queries x documents) score matrix."""
        out = np.zeros((len(queries), self.size))
        for qi, query in enumerate(queries):
            for term in set(_tokens(query)):
                if term not in self._postings:
                    continue
                docs, tf = self._postings[term]
                out[qi, docs] += self._idf[term] * tf * (self.k1 + 1) / (tf + self._norm[docs])
        return out


RRF_K = 60
"""Reciprocal rank fusion's constant: a rank r adds weight / (RRF_K + r)."""


def reciprocal_rank_fusion(
    *score_matrices: NDArray[np.floating],
    k: int = RRF_K,
    weights: Sequence[float] | None = None,
) -> NDArray[np.float64]:
    """Fuse rankings: each list adds weight / (k + rank) per document (rank 1 is best)."""
    fused = np.zeros(score_matrices[0].shape)
    for scores, weight in zip(score_matrices, weights or [1.0] * len(score_matrices), strict=True):
        ranks = np.argsort(np.argsort(-scores, axis=1, kind="stable"), axis=1) + 1
        fused += weight / (k + ranks)
    return fused
