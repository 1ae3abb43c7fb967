"""The questions the model is least sure of come first."""

from __future__ import annotations

import numpy as np

from edgembed.evaluation.uncertainty import least_sure_first, margins


def test_the_smallest_margin_comes_first() -> None:
    scores = np.array([[0.9, 0.1, 0.0], [0.5, 0.49, 0.1], [0.7, 0.4, 0.3]])
    assert np.allclose(margins(scores), [0.8, 0.01, 0.3])
    assert least_sure_first(scores) == [1, 2, 0]


def test_disagreement_between_models_comes_before_margins() -> None:
    scores = np.array([[0.9, 0.1], [0.5, 0.49], [0.7, 0.4]])
    other = np.array([[0.1, 0.9], [0.9, 0.1], [0.9, 0.1]])  # disagrees on query 0 only
    assert least_sure_first(scores, other) == [0, 1, 2]


def test_one_passage_gives_no_margin() -> None:
    assert np.isinf(margins(np.array([[0.3]]))).all()
