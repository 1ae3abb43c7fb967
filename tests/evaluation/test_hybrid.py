"""BM25's share in the hybrid, chosen on a team's own questions."""

from __future__ import annotations

import numpy as np

from edgembed.evaluation.hybrid import HYBRID_WEIGHT, choose_weight

QUESTIONS, PASSAGES = 200, 50


def _scores(rng: np.random.Generator, right: float) -> np.ndarray:
    """Random scores where the passage at each question's index (mod PASSAGES) gets `right`
    more: 0 is noise, a large value always ranks it first."""
    scores = rng.normal(size=(QUESTIONS, PASSAGES))
    scores[np.arange(QUESTIONS), np.arange(QUESTIONS) % PASSAGES] += right
    return scores


RELEVANT = [{i % PASSAGES} for i in range(QUESTIONS)]


def test_questions_that_bm25_answers_get_a_larger_share() -> None:
    rng = np.random.default_rng(0)
    choice = choose_weight(_scores(rng, 4.0), _scores(rng, 1.5), RELEVANT)
    assert choice.changed and choice.weight > HYBRID_WEIGHT
    assert choice.gain > 0 and choice.gain_ci95[0] > 0
    assert choice.ndcg[choice.weight] > choice.ndcg[HYBRID_WEIGHT]
    assert choice.to_json()["weight"] == choice.weight


def test_a_bm25_that_knows_nothing_is_turned_off() -> None:
    rng = np.random.default_rng(1)
    choice = choose_weight(_scores(rng, 0.0), _scores(rng, 3.0), RELEVANT)
    assert choice.weight == 0.0
    assert choice.ndcg[0.0] > choice.ndcg[HYBRID_WEIGHT]


def test_no_evidence_keeps_the_default() -> None:
    """Both lists noise: no weight beats the default on the half it was not chosen on."""
    rng = np.random.default_rng(2)
    choice = choose_weight(_scores(rng, 0.0), _scores(rng, 0.0), RELEVANT)
    assert not choice.changed and choice.weight == HYBRID_WEIGHT
    assert choice.gain_ci95[0] <= 0


def test_too_few_questions_keep_the_default() -> None:
    choice = choose_weight(np.ones((1, 3)), np.ones((1, 3)), [{0}])
    assert choice.weight == HYBRID_WEIGHT and not choice.ndcg
