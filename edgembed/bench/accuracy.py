"""Retrieval accuracy per backend, over the whole chunk corpus, and its change from PyTorch.

The query sets are the workspace's held-out eval pairs and, when given, the real questions,
exactly as `edgembed evaluate` reads them; the metrics are edgembed.metrics'.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgembed.bench.backends import PYTORCH, Backend
from edgembed.corpus import Chunk, read_chunks
from edgembed.metrics import RetrievalMetrics, retrieval_metrics, top_k
from edgembed.progress import progress
from edgembed.trainer.datagen.pairs import read_pairs
from edgembed.trainer.questions import load_real_questions
from edgembed.workspace import Workspace

__all__ = ["AccuracyResult", "QuerySet", "load_query_sets", "measure_accuracy"]


@dataclass(frozen=True)
class QuerySet:
    """Queries and, per query, the corpus indices that answer it."""

    name: str
    queries: list[str]
    relevant: list[set[int]]


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


def load_query_sets(
    workspace: Workspace, questions: Path | None
) -> tuple[list[Chunk], list[QuerySet]]:
    """The chunk corpus and the query sets to score on it (eval pairs, real questions).

    Returns:
        no chunks and no sets when the workspace has no chunks.jsonl (nothing to retrieve
        from); the caller notes that accuracy was skipped.

    Raises:
        InputError: a file exists but is malformed, or the questions match no chunk.
    """
    if not workspace.chunks.exists():
        return [], []
    chunks = read_chunks(workspace.chunks)
    index = {chunk.id: i for i, chunk in enumerate(chunks)}
    sets: list[QuerySet] = []
    if workspace.pairs_eval.exists():
        pairs = [p for p in read_pairs(workspace.pairs_eval) if p.positive_id in index]
        if pairs:
            sets.append(
                QuerySet(
                    "eval pairs", [p.query for p in pairs], [{index[p.positive_id]} for p in pairs]
                )
            )
    if questions is not None:
        real = load_real_questions(questions, chunks)
        sets.append(
            QuerySet("real questions", [q.question for q in real], [set(q.relevant) for q in real])
        )
    return chunks, sets


def measure_accuracy(
    backends: Sequence[Backend], chunks: Sequence[Chunk], query_sets: Sequence[QuerySet]
) -> list[AccuracyResult]:
    """NDCG@10, Accuracy@3 (and the other retrieval figures) of every backend on every set."""
    corpus = [chunk.text for chunk in chunks]
    rankings: dict[str, list[Any]] = {}
    for backend in progress(backends, desc="accuracy", unit="backend"):
        corpus_embeddings = backend.embed(corpus)
        rankings[backend.name] = [
            top_k(backend.embed(qs.queries) @ corpus_embeddings.T, 10) for qs in query_sets
        ]
    return [
        AccuracyResult(
            qs.name,
            len(qs.queries),
            {name: retrieval_metrics(ranked[i], qs.relevant) for name, ranked in rankings.items()},
        )
        for i, qs in enumerate(query_sets)
    ]
