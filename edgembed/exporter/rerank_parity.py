"""How close an exported reranker is to PyTorch: its scores of the same (query, passage) pairs.

The pairs are what a reranker sees in use: for each query of the workspace's retrieval task (a
user's real questions when given, else the held-out eval pairs), the passages that answer it
and the ones BM25 ranks highest after them: a first stage's top candidates. Figures per
variant: the Pearson correlation of a query's scores with PyTorch's (min and mean over the
queries), the largest score difference, and NDCG@10 of the candidates reranked by the
variant, with its ratio to PyTorch's: the int8 gate is measured on reranking quality.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from edgembed.corpus import read_chunks
from edgembed.errors import ExportError
from edgembed.evaluation.bm25 import BM25
from edgembed.evaluation.bootstrap import paired_bootstrap
from edgembed.evaluation.retrieval import ndcg_per_query
from edgembed.evaluation.task import RetrievalTask, eval_pairs, eval_pairs_task, real_questions_task
from edgembed.evaluation.texts import BUILTIN_TEXTS
from edgembed.exporter.parity import rounded_json
from edgembed.progress import progress
from edgembed.runtime import OnnxReranker
from edgembed.runtime.reranker import pearson as score_pearson
from edgembed.workspace import Workspace

if TYPE_CHECKING:
    from sentence_transformers import CrossEncoder

__all__ = [
    "CANDIDATES",
    "FP32_MIN_PEARSON",
    "RerankJudge",
    "RerankParity",
    "RerankReference",
    "RerankTexts",
    "check_fp32_scores",
    "load_rerank_texts",
    "reference_scores",
]

CANDIDATES = 10
"""Passages per query: what it answers, then BM25's next best (a first stage's top)."""
FP32_MIN_PEARSON = 0.999


@dataclass(frozen=True)
class RerankTexts:
    """Queries, each with its candidate passages and which of them answer it (None: not known,
    for built-in texts)."""

    queries: tuple[str, ...]
    candidates: tuple[tuple[str, ...], ...]
    relevant: tuple[frozenset[int], ...] | None
    source: str


@dataclass(frozen=True)
class RerankReference:
    """PyTorch's scores of every candidate, per query, and its reranked NDCG@10 per query."""

    scores: tuple[NDArray[np.float32], ...]
    ndcg_per_query: NDArray[np.float64] | None

    @property
    def ndcg_at_10(self) -> float | None:
        return None if self.ndcg_per_query is None else float(self.ndcg_per_query.mean())


@dataclass(frozen=True)
class RerankParity:
    """One ONNX variant of a reranker against PyTorch."""

    variant: str
    recipe: str | None
    pearson_min: float
    pearson_mean: float
    max_abs_diff: float
    ndcg_at_10: float | None
    ndcg_ratio: float | None
    ndcg_delta_ci: tuple[float, float] | None = None

    @property
    def closeness(self) -> float:
        return self.pearson_mean

    @property
    def closeness_key(self) -> str:
        return "pearson_mean"

    @property
    def closeness_name(self) -> str:
        return "mean Pearson correlation"

    def to_json(self) -> dict[str, Any]:
        return rounded_json(self)


def _candidates(task: RetrievalTask, limit: int) -> RerankTexts:
    """Up to `limit` queries, each with its answers and BM25's best other passages."""
    small = task.sample(limit)
    bm25 = BM25(small.corpus).scores(small.queries)
    queries, candidates, relevant = [], [], []
    for query, answers, scores in zip(small.queries, small.relevant, bm25, strict=True):
        others = [int(i) for i in np.argsort(-scores, kind="stable") if int(i) not in answers]
        picked = sorted(answers)[:CANDIDATES] + others[: max(0, CANDIDATES - len(answers))]
        queries.append(query)
        candidates.append(tuple(small.corpus[i] for i in picked))
        relevant.append(frozenset(range(min(len(answers), CANDIDATES))))
    return RerankTexts(tuple(queries), tuple(candidates), tuple(relevant), task.name)


def load_rerank_texts(
    workspace: Workspace, limit: int, questions: Path | None = None
) -> RerankTexts:
    """The pairs a reranker export is checked on: the workspace's real questions (or eval
    pairs) with their candidates; without a workspace, every built-in sentence as a candidate
    for each built-in question."""
    chunks = read_chunks(workspace.chunks) if workspace.chunks.exists() else []
    if questions is not None and chunks:
        return _candidates(real_questions_task(chunks, questions), limit)
    if chunks and (pairs := eval_pairs(workspace, chunks)):
        return _candidates(eval_pairs_task(chunks, pairs), limit)
    asked = tuple(text for text in BUILTIN_TEXTS if text.endswith("?"))
    passages = tuple(text for text in BUILTIN_TEXTS if not text.endswith("?"))[: CANDIDATES * 2]
    return RerankTexts(asked, tuple(passages for _ in asked), None, "built-in sentences")


def _ndcg(scores: Sequence[NDArray[np.float32]], texts: RerankTexts) -> NDArray[np.float64] | None:
    if texts.relevant is None:
        return None
    ranked = [np.argsort(-s, kind="stable")[:10] for s in scores]
    width = max(len(r) for r in ranked)
    padded = np.array([np.pad(r, (0, width - len(r)), constant_values=-1) for r in ranked])
    return ndcg_per_query(padded, [set(r) for r in texts.relevant])


def reference_scores(model: CrossEncoder, texts: RerankTexts) -> RerankReference:
    """PyTorch's scores (CrossEncoder.predict: the model's activation applied)."""
    scores = tuple(
        np.asarray(model.predict([(q, p) for p in candidates], batch_size=32), dtype=np.float32)
        for q, candidates in zip(texts.queries, texts.candidates, strict=True)
    )
    return RerankReference(scores, _ndcg(scores, texts))


class RerankJudge:
    """A reranker against PyTorch: score correlation per query and reranking quality."""

    def __init__(self, reference: RerankReference, texts: RerankTexts) -> None:
        self.reference, self.texts = reference, texts

    def measure(
        self, staging: Path, variant: str, recipe: str | None, desc: str | None = None
    ) -> RerankParity:
        """Score the candidates through the real runtime, exactly as the server will."""
        reranker = OnnxReranker(staging, variant=variant)
        pairs = list(zip(self.texts.queries, self.texts.candidates, strict=True))
        label = desc or f"parity {recipe or variant}"
        scores = [reranker.score(q, list(c)) for q, c in progress(pairs, desc=label)]
        references = self.reference.scores
        pearson = [score_pearson(a, b) for a, b in zip(scores, references, strict=True)]
        diff = max(float(np.abs(a - b).max()) for a, b in zip(scores, references, strict=True))
        per_query = _ndcg(scores, self.texts)
        ndcg = ratio = interval = None
        if per_query is not None and self.reference.ndcg_per_query is not None:
            ndcg = float(per_query.mean())
            interval = paired_bootstrap(self.reference.ndcg_per_query, per_query)
            ratio = ndcg / self.reference.ndcg_at_10 if self.reference.ndcg_at_10 else None
        return RerankParity(
            variant, recipe, min(pearson), float(np.mean(pearson)), diff, ndcg, ratio, interval
        )

    def calibration_ids(self, staging: Path) -> list[list[int]]:
        reranker = OnnxReranker(staging, variant="fp32")
        pairs = zip(self.texts.queries, self.texts.candidates, strict=True)
        return [pair.ids for q, c in pairs for pair in reranker.tokenize_pairs(q, list(c))]


def check_fp32_scores(parity: RerankParity) -> None:
    """The fp32 graph must reproduce PyTorch's scores.

    Raises:
        ExportError: a query's scores correlate with PyTorch's below FP32_MIN_PEARSON.
    """
    if parity.pearson_min < FP32_MIN_PEARSON:
        raise ExportError(
            f"the fp32 ONNX reranker does not reproduce PyTorch (Pearson min "
            f"{parity.pearson_min:.4f} < {FP32_MIN_PEARSON}). This model's architecture may not "
            "trace correctly; please report it with the model's config.json."
        )
