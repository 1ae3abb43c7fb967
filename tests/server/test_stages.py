"""The search stages' ranking: partial sorts and the fusion of each list's best passages."""

from __future__ import annotations

import numpy as np

from edgembed.evaluation.bm25 import BM25, RRF_K, reciprocal_rank_fusion
from edgembed.server.stages import SearchStages, top_order

TEXTS = [f"passage {i} about {'vpn' if i % 3 else 'printers'} number {i % 7}" for i in range(60)]


def test_top_order_is_the_start_of_a_stable_sort() -> None:
    scores = np.random.default_rng(0).integers(0, 20, 500).astype(np.float32)  # many ties
    for depth in (1, 7, 100, 500, 900):
        expected = np.argsort(-scores, kind="stable")[:depth]
        assert np.array_equal(top_order(scores, depth), expected)


def test_hybrid_over_every_passage_is_evaluate_s_fusion() -> None:
    stages = SearchStages(hybrid_weight=0.3)
    stages._bm25 = BM25(TEXTS)
    dense = np.random.default_rng(1).standard_normal(len(TEXTS)).astype(np.float32)
    query = "vpn number 3"
    fused = stages.hybrid(stages.dense(dense, 0.0, len(TEXTS)), query, len(TEXTS))
    lexical = BM25(TEXTS).scores([query])
    full = reciprocal_rank_fusion(lexical, dense[None, :].astype(np.float64), weights=(0.3, 0.7))
    assert np.array_equal(fused.order, np.argsort(-full[0], kind="stable"))
    assert [t.name for t in fused.timings] == ["dense", "hybrid"]


def test_hybrid_of_the_top_lists_scores_the_shared_head_as_the_full_fusion() -> None:
    stages = SearchStages(hybrid_weight=0.5)
    stages._bm25 = BM25(TEXTS)
    dense = np.random.default_rng(2).standard_normal(len(TEXTS)).astype(np.float32)
    query = "printers number 5"
    depth = 20
    shallow = stages.hybrid(stages.dense(dense, 0.0, depth), query, depth)
    deep = stages.hybrid(stages.dense(dense, 0.0, len(TEXTS)), query, len(TEXTS))
    in_both = np.intersect1d(
        top_order(dense, depth), top_order(BM25(TEXTS).scores([query])[0], depth)
    )
    assert len(in_both) > 0
    assert np.allclose(shallow.scores[in_both], deep.scores[in_both])
    # Anything else loses at most what a rank beyond the depth would have added.
    rest = np.setdiff1d(shallow.order, in_both)
    gap = deep.scores[rest] - shallow.scores[rest]
    assert np.all(gap >= -1e-12) and np.all(gap <= 0.5 / (RRF_K + depth + 1) + 1e-12)
    assert len(shallow.order) < len(TEXTS)
