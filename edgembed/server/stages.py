"""The stages of a search after the dense ranking, each turned on by the operator: hybrid (BM25
fused with the dense ranking by reciprocal rank) and rerank (a cross-encoder reads the query
with each of the first stages' top candidates).

Hybrid's BM25 weight is `HYBRID_WEIGHT` (measured on the real questions of five sets) unless
the operator sets one (`serve --hybrid-weight`); `evaluate --questions` recommends another
when the team's own questions give evidence for it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from edgembed.evaluation.bm25 import BM25, RRF_K
from edgembed.evaluation.hybrid import HYBRID_WEIGHT
from edgembed.server.rerank import RerankService
from edgembed.server.schemas import StageTiming

if TYPE_CHECKING:
    from edgembed.corpus import Chunk

__all__ = ["Ranking", "SearchStages", "top_order"]

logger = logging.getLogger(__name__)


def top_order(scores: NDArray[np.floating], depth: int) -> NDArray[np.intp]:
    """The indices of the `depth` highest scores, best first (ties in index order)."""
    if depth >= len(scores):
        return np.argsort(-scores, kind="stable")
    kth = -np.partition(-scores, depth - 1)[depth - 1]
    above = np.flatnonzero(scores > kth)
    # Ties at the boundary go in index order, as a stable sort would keep them.
    top = np.concatenate([above, np.flatnonzero(scores == kth)[: depth - len(above)]])
    return top[np.lexsort((top, -scores[top]))]


@dataclass
class Ranking:
    """A query's passages in order after the stages, their scores, and what each stage took.

    Attributes:
        scores: every passage's score by the last stage that scored every passage.
        scored_by: that stage (dense or hybrid).
        reranked: the reranker's scores of the passages it read, by passage index.
    """

    scores: NDArray[np.float64]
    order: NDArray[np.intp]
    timings: list[StageTiming] = field(default_factory=list)
    scored_by: str = "dense"
    reranked: dict[int, float] = field(default_factory=dict)

    def score(self, index: int) -> tuple[float, str]:
        """A passage's final score and the stage that gave it."""
        if index in self.reranked:
            return self.reranked[index], "rerank"
        return float(self.scores[index]), self.scored_by


@dataclass
class SearchStages:
    """Hybrid and rerank, as the operator set them (`serve --hybrid-weight`, `--reranker`).

    Attributes:
        hybrid_weight: BM25's share in the fusion; None: `HYBRID_WEIGHT`; 0: dense alone.
        rerank: the reranker service; None: no rerank stage.
        rerank_top: how many of the first stages' best passages the reranker reads.
    """

    hybrid_weight: float | None = None
    rerank: RerankService | None = None
    rerank_top: int = 20
    _bm25: BM25 | None = None

    @property
    def names(self) -> list[str]:
        """The stages a served ranking goes through."""
        hybrid = ["hybrid"] if self.hybrid_weight != 0 else []
        return ["dense", *hybrid, *(["rerank"] if self.rerank is not None else [])]

    async def prepare(self, passages: Sequence[Chunk]) -> None:
        """Index BM25 for the hybrid stage (off the event loop)."""
        if self.hybrid_weight == 0:
            return
        texts = [passage.text for passage in passages]
        self._bm25 = await asyncio.to_thread(BM25, texts)
        if self.hybrid_weight is None:
            self.hybrid_weight = HYBRID_WEIGHT
        logger.info("hybrid: BM25 weight %.1f", self.hybrid_weight)

    def dense(self, scores: NDArray[np.float32], took_ms: float, depth: int) -> Ranking:
        """The first stage: cosine similarity, its best `depth` passages in order (found by
        partition, not a sort of every passage: at 100,000 passages that halves the time).
        Called off the event loop."""
        order = top_order(scores, depth)
        return Ranking(
            scores.astype(np.float64), order, [StageTiming(name="dense", took_ms=took_ms)]
        )

    def hybrid(self, ranking: Ranking, query: str, depth: int) -> Ranking:
        """Fuse BM25 in, when the stage is on: reciprocal rank fusion of the dense ranking's
        and BM25's best `depth` passages each (a passage beyond a list's depth gets nothing
        from it). Called off the event loop."""
        if not self.hybrid_weight or self._bm25 is None:
            return ranking
        started = time.perf_counter()
        lexical = self._bm25.scores([query])[0]
        weight = self.hybrid_weight
        fused = np.zeros(len(lexical))
        for order, share in ((top_order(lexical, depth), weight), (ranking.order, 1 - weight)):
            fused[order] += share / (RRF_K + np.arange(1, len(order) + 1))
        candidates = np.union1d(ranking.order, top_order(lexical, depth))
        order = candidates[np.argsort(-fused[candidates], kind="stable")]
        took = (time.perf_counter() - started) * 1000
        ranking.timings.append(
            StageTiming(name="hybrid", took_ms=took, detail=f"BM25 weight {weight:.1f}")
        )
        return Ranking(fused, order, ranking.timings, "hybrid")

    async def reranked(self, ranking: Ranking, query: str, texts: Sequence[str]) -> Ranking:
        """Let the cross-encoder reorder the top candidates, when the stage is on."""
        if self.rerank is None:
            return ranking
        started = time.perf_counter()
        top = ranking.order[: self.rerank_top]
        result = await self.rerank.rerank(query, [texts[i] for i in top], model=None, truncate=True)
        head = top[np.argsort(-result.scores, kind="stable")]
        ranking.order = np.concatenate([head, ranking.order[self.rerank_top :]])
        ranking.reranked = {int(i): float(s) for i, s in zip(top, result.scores, strict=True)}
        took = (time.perf_counter() - started) * 1000
        detail = f"{len(top)} candidates"
        ranking.timings.append(StageTiming(name="rerank", took_ms=took, detail=detail))
        return ranking
