"""Hybrid search's BM25 weight: chosen from evidence, zero unless it clearly helps."""

from __future__ import annotations

import numpy as np

from edgembed.evaluation.hybrid import choose_hybrid_weight


def test_the_hybrid_takes_bm25_in_only_where_it_clearly_helps() -> None:
    rng = np.random.default_rng(0)
    relevant = [{i} for i in range(40)]
    truth = np.eye(40) * 5 + rng.normal(size=(40, 40))  # ranks each query's passage near the top
    noise = rng.normal(size=(40, 40))
    assert choose_hybrid_weight(noise, truth, relevant) == 0.0  # BM25 useless: dense alone
    assert choose_hybrid_weight(truth, noise, relevant) > 0.5  # BM25 right, dense lost
