from __future__ import annotations

import math

import numpy as np
import pytest

from edgembed.evaluation.bootstrap import paired_bootstrap
from edgembed.evaluation.retrieval import ndcg_per_query, rank_corpus, retrieval_metrics, top_k


def test_top_k_orders_best_first_and_breaks_ties_by_index() -> None:
    scores = np.array([[0.1, 0.9, 0.5, 0.9], [3.0, 2.0, 1.0, 0.0]])
    assert top_k(scores, 3).tolist() == [[1, 3, 2], [0, 1, 2]]
    assert top_k(scores, 10).shape == (2, 4)


def test_metrics_by_hand() -> None:
    ranked = np.array([[0, 1, 2], [1, 2, 0], [2, 1, 0]])
    relevant = [{0}, {0}, {5}]
    m = retrieval_metrics(ranked, relevant)
    assert m.queries == 3
    assert m.accuracy_at_1 == pytest.approx(1 / 3)
    assert m.accuracy_at_3 == pytest.approx(2 / 3)
    assert m.mrr_at_10 == pytest.approx((1 + 1 / 3 + 0) / 3)
    assert m.ndcg_at_10 == pytest.approx((1 + 1 / math.log2(4) + 0) / 3)
    assert m.recall_at_10 == pytest.approx(2 / 3)


def test_ndcg_with_two_relevant() -> None:
    m = retrieval_metrics(np.array([[3, 0, 1]]), [{0, 1}])
    ideal = 1 + 1 / math.log2(3)
    assert m.ndcg_at_10 == pytest.approx((1 / math.log2(3) + 1 / math.log2(4)) / ideal)
    assert m.recall_at_10 == 1.0


def test_rank_corpus_uses_dot_product() -> None:
    q = np.array([[1.0, 0.0]])
    c = np.array([[0.0, 1.0], [1.0, 0.0], [0.7, 0.7]])
    assert rank_corpus(q, c, 2).tolist() == [[1, 2]]


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="relevance sets"):
        retrieval_metrics(np.array([[0]]), [])
    with pytest.raises(ValueError, match="at least one relevant"):
        retrieval_metrics(np.array([[0]]), [set()])


def test_ndcg_per_query_averages_to_the_metric() -> None:
    ranked = np.array([[0, 1, 2], [1, 2, 0], [2, 1, 0]])
    relevant = [{0}, {0}, {5}]
    per_query = ndcg_per_query(ranked, relevant)
    assert per_query.tolist() == pytest.approx([1.0, 0.5, 0.0])
    assert per_query.mean() == pytest.approx(retrieval_metrics(ranked, relevant).ndcg_at_10)


def test_paired_bootstrap_brackets_the_mean_change() -> None:
    rng = np.random.default_rng(1)
    before = rng.random(200)
    clear = paired_bootstrap(before, before + 0.1 + rng.normal(0, 0.05, 200))
    assert 0.08 < clear[0] < 0.1 < clear[1] < 0.12
    noise = paired_bootstrap(before, before + rng.normal(0, 0.3, 200))
    assert noise[0] < 0 < noise[1]  # no real change: the interval spans zero
    assert paired_bootstrap(before, before) == (0.0, 0.0)
