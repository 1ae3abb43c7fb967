"""Which questions most need a person's mark: those the model is least sure how to answer.

A query whose best passage scores barely above its second is one the model cannot tell
between. With a second model (the base beside the tuned one), queries on whose best passage
the two disagree come first. `benchmarks/marks_curve.py --strategies least-sure` measures
whether marks chosen this way are worth more than marks taken at random: on editorfaq's 100
marks they were not (docs/findings.md).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["least_sure_first", "margins"]


def margins(scores: NDArray[np.floating]) -> NDArray[np.float64]:
    """Per query (row), the best passage's score minus the second's (smaller: less sure)."""
    if scores.shape[1] < 2:
        return np.full(scores.shape[0], np.inf)
    top2 = -np.partition(-scores, 1, axis=1)[:, :2]
    return np.asarray(top2[:, 0] - top2[:, 1], dtype=np.float64)


def least_sure_first(
    scores: NDArray[np.floating], other: NDArray[np.floating] | None = None
) -> list[int]:
    """Query indices, the ones a mark helps most first: queries on whose best passage the two
    models disagree (when `other` is given), then by smallest margin."""
    margin = margins(scores)
    disagree = np.zeros(len(margin), dtype=bool)
    if other is not None:
        disagree = scores.argmax(axis=1) != other.argmax(axis=1)
    return [int(i) for i in np.lexsort((margin, ~disagree))]
