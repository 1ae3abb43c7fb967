"""Hybrid search: BM25 and a dense model fused by reciprocal rank, BM25's weight chosen from
evidence (`evaluate` reports it; `serve` searches with it)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from edgembed.evaluation.bm25 import reciprocal_rank_fusion
from edgembed.evaluation.bootstrap import paired_bootstrap
from edgembed.evaluation.retrieval import ndcg_per_query, top_k

__all__ = ["choose_hybrid_weight"]


def choose_hybrid_weight(
    bm25: NDArray[np.floating], dense: NDArray[np.floating], relevant: Sequence[set[int]]
) -> float:
    """BM25's share in the hybrid: the weight in 0.1..0.9 that ranks these queries best, or 0
    (dense alone) unless its gain over dense is clear (95% interval above zero).

    Chosen on the synthetic eval pairs, whose sentences are taken out of the corpus: BM25 cannot
    look them up there, so the choice is not biased toward it, and where BM25 is weak on a
    corpus, fusing it in is not chosen.
    """
    dense_ndcg = ndcg_per_query(top_k(dense, 10), relevant)
    best, best_ndcg = 0.0, dense_ndcg
    for weight in np.arange(0.1, 1.0, 0.1):
        fused = reciprocal_rank_fusion(bm25, dense, weights=(weight, 1 - weight))
        ndcg = ndcg_per_query(top_k(fused, 10), relevant)
        if ndcg.mean() > best_ndcg.mean():
            best, best_ndcg = round(float(weight), 1), ndcg
    low, _ = paired_bootstrap(dense_ndcg, best_ndcg)
    return best if low > 0 else 0.0
