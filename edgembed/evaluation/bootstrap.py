"""How sure a change measured on a set of questions is: the paired bootstrap."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["paired_bootstrap"]


def paired_bootstrap(
    before: NDArray[np.floating],
    after: NDArray[np.floating],
    *,
    samples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """A confidence interval for mean(after - before) over the same queries, by resampling the
    queries with replacement: how sure a change on this many questions is.
    """
    diff = np.asarray(after, dtype=np.float64) - np.asarray(before, dtype=np.float64)
    if diff.size == 0:
        return (0.0, 0.0)
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, diff.size, size=(samples, diff.size))].mean(axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return (float(low), float(high))
