"""Hybrid search: BM25 and a dense model fused by reciprocal rank (`evaluate` reports it;
`serve` searches with it).

BM25's share defaults to `HYBRID_WEIGHT`, measured on the real questions of the five question
sets (the sample and four FAQ dev sets, 105-488 questions each; docs/findings.md, "Hybrid"):
with the bundled MiniLM, weight 0.3 raised NDCG@10 by +0.031 to +0.114 on the four FAQ sets and
cost the sample 0.003; higher weights gained a little more on some sets and cost the sample
up to 0.15. The synthetic eval pairs cannot choose it: their queries are sentences taken out
of the passages, which BM25 cannot look up, so they chose 0 where the real questions gained
+0.05 to +0.07.

A team with its own questions can do better than the shared default: `choose_weight` tries
every weight on them and recommends one only when it beats the default on questions it was
not chosen on (two halves, each choosing for the other), beyond noise.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from edgembed.evaluation.bm25 import reciprocal_rank_fusion
from edgembed.evaluation.bootstrap import paired_bootstrap
from edgembed.evaluation.retrieval import ndcg_per_query, top_k

__all__ = ["HYBRID_WEIGHT", "WEIGHTS", "WeightChoice", "choose_weight"]

HYBRID_WEIGHT = 0.3
"""BM25's share in the fusion unless the operator sets one (0 turns hybrid off)."""

WEIGHTS = tuple(round(0.1 * i, 1) for i in range(10))
"""The BM25 shares `choose_weight` tries: 0 (dense alone) to 0.9 (serve takes [0, 1))."""


@dataclass(frozen=True)
class WeightChoice:
    """BM25's share recommended for one set of questions, and the evidence for it.

    `ndcg`: mean NDCG@10 at each weight over all the questions. `gain` and `gain_ci95`: how
    much choosing a weight on one half of the questions raised the other half over the
    default (mean of both ways, 95% interval): what a team can expect on new questions.
    `weight` is the best weight over all the questions when that interval lies above zero,
    else the default.
    """

    weight: float
    default: float
    ndcg: dict[float, float]
    gain: float
    gain_ci95: tuple[float, float]
    questions: int

    @property
    def changed(self) -> bool:
        return self.weight != self.default

    def to_json(self) -> dict[str, Any]:
        return {
            "weight": self.weight,
            "default": self.default,
            "ndcg_at_10": {f"{w:.1f}": round(v, 4) for w, v in self.ndcg.items()},
            "held_out_gain": round(self.gain, 4),
            "held_out_gain_ci95": [round(v, 4) for v in self.gain_ci95],
            "questions": self.questions,
        }


def choose_weight(
    bm25: NDArray[np.floating],
    dense: NDArray[np.floating],
    relevant: Sequence[set[int]],
    default: float = HYBRID_WEIGHT,
) -> WeightChoice:
    """BM25's share for these questions (`bm25`, `dense`: their scores over the passages,
    one row a question); see `WeightChoice`. Under two questions: the default, no gain."""
    if len(relevant) < 2:
        return WeightChoice(default, default, {}, 0.0, (0.0, 0.0), len(relevant))
    per_weight = {
        w: ndcg_per_query(
            top_k(reciprocal_rank_fusion(bm25, dense, weights=(w, 1 - w)), 10), relevant
        )
        for w in sorted({*WEIGHTS, default})
    }
    chosen, overall, (low, high) = cross_fit(per_weight, default)
    return WeightChoice(
        weight=overall if low > 0 else default,
        default=default,
        ndcg={w: float(v.mean()) for w, v in per_weight.items()},
        gain=float(chosen.mean() - per_weight[default].mean()),
        gain_ci95=(low, high),
        questions=len(relevant),
    )


def cross_fit(
    per_setting: dict[float, NDArray[np.float64]], default: float
) -> tuple[NDArray[np.float64], float, tuple[float, float]]:
    """Each question's NDCG@10 under the setting chosen on the other half of the questions
    (two fixed halves, each choosing for the other; ties go to `default`), the best setting
    over all of them, and the 95% interval of the held-out gain over `default`."""
    count = len(per_setting[default])
    order = list(range(count))
    random.Random("hybrid-halves").shuffle(order)
    halves = (np.array(sorted(order[::2]), int), np.array(sorted(order[1::2]), int))
    chosen = np.empty(count)
    for pick, judge in (halves, halves[::-1]):
        best = max(per_setting, key=lambda w: (per_setting[w][pick].mean(), w == default))
        chosen[judge] = per_setting[best][judge]
    overall = max(per_setting, key=lambda w: (per_setting[w].mean(), w == default))
    return chosen, overall, paired_bootstrap(per_setting[default], chosen)
