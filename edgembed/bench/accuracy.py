"""Retrieval accuracy per backend, over the whole chunk corpus, and its change from PyTorch.

The tasks are the workspace's held-out eval pairs and, when given, the real questions, built
by edgembed.evaluation as `edgembed evaluate` builds them, and scored with its metrics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from edgembed.bench.backends import PYTORCH, Backend
from edgembed.evaluation.retrieval import RetrievalMetrics, retrieval_metrics, top_k
from edgembed.evaluation.task import RetrievalTask
from edgembed.progress import progress

__all__ = ["AccuracyResult", "measure_accuracy"]


@dataclass(frozen=True)
class AccuracyResult:
    """Every backend's retrieval figures on one query set."""

    query_set: str
    queries: int
    metrics: dict[str, RetrievalMetrics]

    def ndcg_ratio(self, backend: str) -> float | None:
        """The backend's NDCG@10 as a share of PyTorch's (None without PyTorch)."""
        reference = self.metrics.get(PYTORCH)
        if reference is None or not reference.ndcg_at_10:
            return None
        return self.metrics[backend].ndcg_at_10 / reference.ndcg_at_10

    def delta(self, backend: str, metric: str) -> float | None:
        """The backend's `metric` minus PyTorch's (None without PyTorch)."""
        reference = self.metrics.get(PYTORCH)
        if reference is None:
            return None
        return float(getattr(self.metrics[backend], metric) - getattr(reference, metric))

    def to_json(self) -> dict[str, Any]:
        backends = {}
        for name, metrics in self.metrics.items():
            ratio = self.ndcg_ratio(name)
            backends[name] = {
                **metrics.to_json(),
                "ndcg_ratio_vs_pytorch": round(ratio, 5) if ratio is not None else None,
                "delta_ndcg_at_10": self.delta(name, "ndcg_at_10"),
                "delta_accuracy_at_3": self.delta(name, "accuracy_at_3"),
            }
        return {"query_set": self.query_set, "queries": self.queries, "backends": backends}


def measure_accuracy(
    backends: Sequence[Backend], tasks: Sequence[RetrievalTask]
) -> list[AccuracyResult]:
    """NDCG@10, Accuracy@3 (and the other retrieval figures) of every backend on every task."""
    rankings: dict[str, list[Any]] = {}
    for backend in progress(backends, desc="accuracy", unit="backend"):
        embedded: dict[str, Any] = {}
        ranked = []
        for task in tasks:
            missing = [text for text in dict.fromkeys(task.corpus) if text not in embedded]
            if missing:
                embedded.update(zip(missing, backend.embed(missing, "document"), strict=True))
            corpus = np.stack([embedded[text] for text in task.corpus])
            ranked.append(top_k(backend.embed(list(task.queries), "query") @ corpus.T, 10))
        rankings[backend.name] = ranked
    return [
        AccuracyResult(
            task.name,
            len(task.queries),
            {
                name: retrieval_metrics(ranked[i], [set(r) for r in task.relevant])
                for name, ranked in rankings.items()
            },
        )
        for i, task in enumerate(tasks)
    ]
