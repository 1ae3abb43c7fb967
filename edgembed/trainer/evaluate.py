"""Base vs fine-tuned, on retrieval over the whole corpus, with BM25 and hybrid reference lines.

Query sets: the held-out synthetic eval pairs and, when given, real questions. For each, four
systems: the base model, the fine-tuned model, BM25, and hybrid (BM25 + fine-tuned, fused by
reciprocal rank). The spec's mean cosine similarity is reported too, but the verdict is decided
on retrieval (NDCG@10), on real questions when there are any.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from edgembed.config import EvaluateConfig, Workspace
from edgembed.corpus import Chunk, read_chunks
from edgembed.errors import InputError, ModelError
from edgembed.metrics import (
    RetrievalMetrics,
    ndcg_per_query,
    paired_bootstrap,
    retrieval_metrics,
    top_k,
)
from edgembed.trainer.base_model import load_sentence_transformer
from edgembed.trainer.bm25 import BM25, reciprocal_rank_fusion
from edgembed.trainer.finetune import TRAINING_METRICS
from edgembed.trainer.questions import load_real_questions

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["QuerySetResult", "EvaluationReport", "evaluate_models", "newest_model"]

log = logging.getLogger(__name__)

SYSTEMS = ("base", "fine-tuned", "bm25", "hybrid")


@dataclass(frozen=True)
class QuerySetResult:
    """The four systems on one query set, plus the spec's cosine figures."""

    name: str
    metrics: dict[str, RetrievalMetrics]
    mean_cosine_base: float
    mean_cosine_tuned: float
    improved_share: float
    samples: list[dict[str, Any]] = field(default_factory=list)
    ndcg_delta_ci: tuple[float, float] = (0.0, 0.0)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "metrics": {system: m.to_json() for system, m in self.metrics.items()},
            "mean_cosine": {
                "base": self.mean_cosine_base,
                "fine-tuned": self.mean_cosine_tuned,
                "improvement": self.mean_cosine_tuned - self.mean_cosine_base,
                "improved_share": self.improved_share,
            },
            "ndcg_at_10_delta_ci95": list(self.ndcg_delta_ci),
            "samples": self.samples,
        }


@dataclass(frozen=True)
class EvaluationReport:
    """Everything `evaluate` measured and its verdict."""

    model: str
    base_model: str
    chunks: int
    query_sets: list[QuerySetResult]
    decided_on: str
    verdict: str  # "better", "worse" or "tie"
    delta_ndcg_at_10: float

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "base_model": self.base_model,
            "chunks": self.chunks,
            "decided_on": self.decided_on,
            "verdict": self.verdict,
            "delta_ndcg_at_10": self.delta_ndcg_at_10,
            "query_sets": {qs.name: qs.to_json() for qs in self.query_sets},
        }


def newest_model(workspace: Workspace) -> Path:
    """The most recently trained model folder under WORKSPACE/models/.

    Raises:
        ModelError: there is none.
    """
    folders = (
        [p for p in workspace.models.glob("*") if p.is_dir() and not p.name.startswith(".")]
        if workspace.models.exists()
        else []
    )
    if not folders:
        raise ModelError(f"no trained model in {workspace.models}. Run `edgembed train` first.")
    return max(folders, key=lambda p: p.stat().st_mtime)


def _base_of(model_dir: Path) -> str:
    metrics = model_dir / TRAINING_METRICS
    if not metrics.exists():
        raise ModelError(
            f"{model_dir} has no {TRAINING_METRICS}, so its base model is unknown: pass --base."
        )
    return str(json.loads(metrics.read_text())["base_model"])


def _encode(model: SentenceTransformer, texts: Sequence[str]) -> NDArray[np.float32]:
    out: NDArray[np.float32] = model.encode(
        list(texts), batch_size=32, normalize_embeddings=True, convert_to_numpy=True
    )
    return out


def _best_relevant_cosine(
    queries: NDArray[np.float32], corpus: NDArray[np.float32], relevant: Sequence[set[int]]
) -> NDArray[np.float64]:
    scores = queries @ corpus.T
    return np.array([max(scores[i, j] for j in rel) for i, rel in enumerate(relevant)])


def _samples(
    texts: Sequence[str],
    rankings: dict[str, NDArray[np.intp]],
    relevant: Sequence[set[int]],
    chunks: Sequence[Chunk],
    count: int,
) -> list[dict[str, Any]]:
    def hit(i: int, rel: set[int]) -> str:
        chunk = chunks[i]
        mark = "*" if i in rel else " "
        return f"{mark} {chunk.doc} > {chunk.section or chunk.title}"

    step = max(1, len(texts) // max(count, 1))
    picks = list(range(0, len(texts), step))[:count]
    return [
        {
            "query": texts[i],
            "before": [hit(int(j), relevant[i]) for j in rankings["base"][i][:3]],
            "after": [hit(int(j), relevant[i]) for j in rankings["fine-tuned"][i][:3]],
        }
        for i in picks
    ]


def _query_set(
    name: str,
    texts: Sequence[str],
    relevant: Sequence[set[int]],
    models: dict[str, tuple[SentenceTransformer, NDArray[np.float32]]],
    bm25: BM25,
    chunks: Sequence[Chunk],
    samples: int,
) -> QuerySetResult:
    scores: dict[str, NDArray[np.floating]] = {}
    embedded: dict[str, NDArray[np.float32]] = {}
    for system, (model, corpus) in models.items():
        embedded[system] = _encode(model, texts)
        scores[system] = embedded[system] @ corpus.T
    scores["bm25"] = bm25.scores(texts)
    scores["hybrid"] = reciprocal_rank_fusion(scores["bm25"], scores["fine-tuned"])
    rankings = {system: top_k(s, 10) for system, s in scores.items()}
    base_cos = _best_relevant_cosine(embedded["base"], models["base"][1], relevant)
    tuned_cos = _best_relevant_cosine(embedded["fine-tuned"], models["fine-tuned"][1], relevant)
    return QuerySetResult(
        name=name,
        metrics={s: retrieval_metrics(rankings[s], relevant) for s in SYSTEMS},
        mean_cosine_base=float(base_cos.mean()),
        mean_cosine_tuned=float(tuned_cos.mean()),
        improved_share=float((tuned_cos > base_cos).mean()),
        samples=_samples(texts, rankings, relevant, chunks, samples),
        ndcg_delta_ci=paired_bootstrap(
            ndcg_per_query(rankings["base"], relevant),
            ndcg_per_query(rankings["fine-tuned"], relevant),
        ),
    )


def evaluate_models(config: EvaluateConfig, workspace: Workspace) -> EvaluationReport:
    """Compare the base and fine-tuned models; see the module docstring.

    Raises:
        InputError: chunks.jsonl is missing, or there are no eval pairs and no questions.
        ModelError: a model cannot be found or loaded.
    """
    from edgembed.trainer.datagen.pairs import read_pairs

    chunks = read_chunks(workspace.chunks)
    model_spec = config.model or str(newest_model(workspace))
    base_spec = config.base_model or _base_of(Path(model_spec))
    index = {chunk.id: i for i, chunk in enumerate(chunks)}
    query_sets: list[tuple[str, list[str], list[set[int]]]] = []
    if workspace.pairs_eval.exists():
        pairs = [p for p in read_pairs(workspace.pairs_eval) if p.positive_id in index]
        if pairs:
            query_sets.append(
                ("eval pairs", [p.query for p in pairs], [{index[p.positive_id]} for p in pairs])
            )
    if config.questions is not None:
        real = load_real_questions(config.questions, chunks)
        query_sets.append(
            ("real questions", [q.question for q in real], [set(q.relevant) for q in real])
        )
    if not query_sets:
        raise InputError(
            "nothing to evaluate on: no eval pairs in the workspace and no --questions file. "
            "Run `edgembed generate` or pass --questions."
        )
    texts = [chunk.text for chunk in chunks]
    tuned = load_sentence_transformer(model_spec, config.device)
    base = load_sentence_transformer(base_spec, config.device)
    # The same token window for both, so the comparison measures the fine-tuning alone.
    base.max_seq_length = tuned.max_seq_length
    models = {
        system: (m, _encode(m, texts)) for system, m in (("base", base), ("fine-tuned", tuned))
    }
    bm25 = BM25(texts)
    results = [
        _query_set(name, q, rel, models, bm25, chunks, config.samples)
        for name, q, rel in query_sets
    ]
    decider = results[-1]
    delta = decider.metrics["fine-tuned"].ndcg_at_10 - decider.metrics["base"].ndcg_at_10
    verdict = "tie" if abs(delta) < config.tolerance else ("better" if delta > 0 else "worse")
    return EvaluationReport(
        model=model_spec,
        base_model=base_spec,
        chunks=len(chunks),
        query_sets=results,
        decided_on=decider.name,
        verdict=verdict,
        delta_ndcg_at_10=delta,
    )
