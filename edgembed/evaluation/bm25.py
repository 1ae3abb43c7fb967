"""Okapi BM25 over the chunk corpus: the lexical reference line, and half of hybrid search."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

__all__ = ["BM25", "reciprocal_rank_fusion"]

_TOKEN = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    "a an and are as at be by can do does for from how i if in is it my of on or the to what "
    "when where which who will with you your".split()
)


def _tokens(text: str) -> list[str]:
    return [t for t in _TOKEN.findall(text.lower()) if t not in _STOP]


class BM25:
    """BM25 scores of queries against a fixed list of documents (k1=1.5, b=0.75)."""

    def __init__(self, documents: Sequence[str], k1: float = 1.5, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self._docs = [Counter(_tokens(doc)) for doc in documents]
        self._lengths = np.array([sum(d.values()) for d in self._docs], dtype=np.float64)
        self._avg = float(self._lengths.mean()) if len(self._docs) else 0.0
        frequency: Counter[str] = Counter()
        for doc in self._docs:
            frequency.update(doc.keys())
        n = len(self._docs)
        self._idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in frequency.items()}

    def scores(self, queries: Sequence[str]) -> NDArray[np.float64]:
        """A (queries x documents) score matrix."""
        out = np.zeros((len(queries), len(self._docs)))
        norm = self.k1 * (1 - self.b + self.b * self._lengths / max(self._avg, 1e-9))
        for qi, query in enumerate(queries):
            for term in set(_tokens(query)):
                idf = self._idf.get(term)
                if idf is None:
                    continue
                tf = np.array([doc.get(term, 0) for doc in self._docs], dtype=np.float64)
                out[qi] += idf * tf * (self.k1 + 1) / (tf + norm)
        return out


def reciprocal_rank_fusion(
    *score_matrices: NDArray[np.floating],
    k: int = 60,
    weights: Sequence[float] | None = None,
) -> NDArray[np.float64]:
    """Fuse rankings: each list adds weight / (k + rank) per document (rank 1 is best)."""
    fused = np.zeros(score_matrices[0].shape)
    for scores, weight in zip(score_matrices, weights or [1.0] * len(score_matrices), strict=True):
        ranks = np.argsort(np.argsort(-scores, axis=1, kind="stable"), axis=1) + 1
        fused += weight / (k + ranks)
    return fused
