"""Base vs fine-tuned, on retrieval over the whole corpus, with BM25 and hybrid reference lines.

Query sets: the held-out synthetic eval pairs and, when given, real questions. For each, five
systems: the base model as edgembed runs it (the fine-tuned model's token window, passages with
their breadcrumb line), the base model as shipped (its own window, passages without the
breadcrumb: what a user has without edgembed), the fine-tuned model, BM25, and hybrid (BM25 +
fine-tuned, fused by reciprocal rank, BM25's weight `HYBRID_WEIGHT`, as `serve` searches by
default). The verdict compares the
fine-tuned model with the better of the two base systems, on retrieval (NDCG@10), on real
questions when there are any.
The synthetic eval pairs are scored against a corpus where each eval query's own sentence is
taken out of its passage, so they cannot be answered by looking the sentence up.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from edgembed.config import EvaluateConfig
from edgembed.corpus import Chunk, read_chunks
from edgembed.errors import InputError, ModelError
from edgembed.evaluation.bm25 import BM25, reciprocal_rank_fusion
from edgembed.evaluation.bootstrap import paired_bootstrap
from edgembed.evaluation.hybrid import HYBRID_WEIGHT, WeightChoice, choose_weight
from edgembed.evaluation.retrieval import RetrievalMetrics, ndcg_per_query, retrieval_metrics, top_k
from edgembed.evaluation.task import REAL_QUESTIONS, RetrievalTask, load_tasks
from edgembed.models import (
    Prompts,
    base_model_of,
    describe_model,
    encode,
    load_sentence_transformer,
    newest_model,
    pick_device,
    resolve_model,
)
from edgembed.workspace import Workspace

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["QuerySetResult", "EvaluationReport", "evaluate_models"]

log = logging.getLogger(__name__)

SHIPPED = "base as shipped"
SYSTEMS = ("base", SHIPPED, "fine-tuned", "bm25", "hybrid")
RERANKED = "reranked"
"""The sixth system, with --reranker: the fine-tuned model's top FIRST_STAGE reranked."""
FIRST_STAGE = 20
BASELINES = ("base", SHIPPED)


@dataclass(frozen=True)
class QuerySetResult:
    """The five systems on one query set, plus the spec's cosine figures."""

    name: str
    metrics: dict[str, RetrievalMetrics]
    mean_cosine_base: float
    mean_cosine_tuned: float
    improved_share: float
    samples: list[dict[str, Any]] = field(default_factory=list)
    ndcg_delta_ci: tuple[float, float] = (0.0, 0.0)
    baseline: str = "base"
    per_query_ndcg: dict[str, list[float]] = field(default_factory=dict)
    hybrid_weight: float = 0.0
    passages: int = 0
    hybrid_choice: WeightChoice | None = None

    @property
    def delta_ndcg_at_10(self) -> float:
        """Fine-tuned minus the better base system, NDCG@10."""
        return self.metrics["fine-tuned"].ndcg_at_10 - self.metrics[self.baseline].ndcg_at_10

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
            "baseline": self.baseline,
            "hybrid_bm25_weight": self.hybrid_weight,
            "passages": self.passages,
            "hybrid_choice": self.hybrid_choice.to_json() if self.hybrid_choice else None,
            "ndcg_at_10_delta": self.delta_ndcg_at_10,
            "ndcg_at_10_delta_ci95": list(self.ndcg_delta_ci),
            "samples": self.samples,
            "per_query_ndcg_at_10": self.per_query_ndcg,
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
    baseline: str = "base"

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "base_model": self.base_model,
            "chunks": self.chunks,
            "decided_on": self.decided_on,
            "verdict": self.verdict,
            "delta_ndcg_at_10": self.delta_ndcg_at_10,
            "baseline": self.baseline,
            "query_sets": {qs.name: qs.to_json() for qs in self.query_sets},
        }


@dataclass(frozen=True)
class _System:
    """A model compared, with the prompts its authors meant for queries and documents."""

    model: SentenceTransformer
    prompts: Prompts


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


def _reranked(
    reranker: Any, queries: Sequence[str], corpus: Sequence[str], scores: NDArray[np.floating]
) -> NDArray[np.intp]:
    """Each query's FIRST_STAGE best passages by `scores`, reordered by the cross-encoder."""
    first = top_k(scores, FIRST_STAGE)
    pairs = [(q, corpus[int(i)]) for q, row in zip(queries, first, strict=True) for i in row]
    predicted = np.asarray(reranker.predict(pairs, batch_size=32)).reshape(first.shape)
    order = np.argsort(-predicted, axis=1, kind="stable")
    return np.take_along_axis(first, order, axis=1)


def _query_set(
    task: RetrievalTask,
    models: dict[str, tuple[_System, NDArray[np.float32]]],
    chunks: Sequence[Chunk],
    samples: int,
    reranker: Any = None,
) -> QuerySetResult:
    """All systems on one task; BM25 has `HYBRID_WEIGHT` in the hybrid, as `serve` fuses."""
    texts, relevant = task.queries, [set(r) for r in task.relevant]
    scores: dict[str, NDArray[np.floating]] = {}
    embedded: dict[str, NDArray[np.float32]] = {}
    for name, (system, corpus) in models.items():
        embedded[name] = encode(system.model, texts, system.prompts.query)
        scores[name] = embedded[name] @ corpus.T
    scores["bm25"] = BM25(task.corpus).scores(texts)
    scores["hybrid"] = reciprocal_rank_fusion(
        scores["bm25"], scores["fine-tuned"], weights=(HYBRID_WEIGHT, 1 - HYBRID_WEIGHT)
    )
    rankings = {system: top_k(s, 10) for system, s in scores.items()}
    systems = list(SYSTEMS)
    if reranker is not None:
        rankings[RERANKED] = _reranked(reranker, texts, task.corpus, scores["fine-tuned"])
        systems.append(RERANKED)
    metrics = {s: retrieval_metrics(rankings[s], relevant) for s in systems}
    per_query = {s: ndcg_per_query(rankings[s], relevant) for s in systems}
    baseline = max(BASELINES, key=lambda s: metrics[s].ndcg_at_10)
    base_cos = _best_relevant_cosine(embedded[baseline], models[baseline][1], relevant)
    tuned_cos = _best_relevant_cosine(embedded["fine-tuned"], models["fine-tuned"][1], relevant)
    return QuerySetResult(
        name=task.name,
        metrics=metrics,
        mean_cosine_base=float(base_cos.mean()),
        mean_cosine_tuned=float(tuned_cos.mean()),
        improved_share=float((tuned_cos > base_cos).mean()),
        samples=_samples(texts, rankings, relevant, _passages(task, chunks), samples),
        ndcg_delta_ci=paired_bootstrap(per_query[baseline], per_query["fine-tuned"]),
        baseline=baseline,
        per_query_ndcg={s: [round(float(v), 4) for v in per_query[s]] for s in systems},
        hybrid_weight=HYBRID_WEIGHT,
        passages=len(task.corpus),
        # Only people's questions can choose BM25's share (the eval pairs chose 0, see hybrid).
        hybrid_choice=(
            choose_weight(scores["bm25"], scores["fine-tuned"], relevant)
            if task.name == REAL_QUESTIONS
            else None
        ),
    )


def _passages(task: RetrievalTask, chunks: Sequence[Chunk]) -> list[Chunk]:
    """The chunk of each of the task's passages, in its corpus order."""
    by_id = {chunk.id: chunk for chunk in chunks}
    return [by_id[passage_id] for passage_id in task.passage_ids]


class _CorpusVectors:
    """Each system's embedding of each passage text, computed once however many tasks and
    corpora share it (the eval pairs' corpus differs from the chunks only where a sentence was
    taken out)."""

    def __init__(self, models: dict[str, _System], chunks: Sequence[Chunk]):
        self.models = models
        self._bodies = {chunk.text: chunk.body for chunk in chunks}
        self._vectors: dict[tuple[str, str], NDArray[np.float32]] = {}

    def texts(self, system: str, task: RetrievalTask) -> list[str]:
        """The passages as `system` reads them: the base model as shipped gets the passages
        without edgembed's breadcrumb line (what a user has without edgembed)."""
        if system != SHIPPED:
            return list(task.corpus)
        return [self._bodies.get(text, text) for text in task.corpus]

    def of(self, task: RetrievalTask) -> dict[str, tuple[_System, NDArray[np.float32]]]:
        """Every system's model and corpus embeddings for `task`."""
        out = {}
        for name, system in self.models.items():
            texts = self.texts(name, task)
            missing = list(dict.fromkeys(t for t in texts if (name, t) not in self._vectors))
            if missing:
                vectors = encode(system.model, missing, system.prompts.document)
                self._vectors.update(((name, t), v) for t, v in zip(missing, vectors, strict=True))
            out[name] = (system, np.stack([self._vectors[(name, t)] for t in texts]))
        return out


def _verdict(delta: float, interval: tuple[float, float], tolerance: float) -> str:
    """better or worse only when the 95% interval of the change lies wholly on that side of
    zero and the change is at least `tolerance`; otherwise a tie."""
    low, high = interval
    if delta >= tolerance and low > 0:
        return "better"
    if delta <= -tolerance and high < 0:
        return "worse"
    return "tie"


def _load_reranker(config: EvaluateConfig) -> Any:
    """The cross-encoder of --reranker, or None."""
    if config.reranker is None:
        return None
    from sentence_transformers import CrossEncoder

    path = resolve_model(config.reranker)
    if describe_model(path).kind != "reranker":
        raise ModelError(f"--reranker {config.reranker} is not a cross-encoder (a reranker).")
    return CrossEncoder(str(path), device=pick_device(config.device), local_files_only=True)


def _load_systems(config: EvaluateConfig, model: str, base: str) -> dict[str, _System]:
    """The three models compared, each with its own prompts (the base as shipped with its
    authors' too: what a user has without edgembed)."""
    tuned = load_sentence_transformer(model, config.device)
    base_model = load_sentence_transformer(base, config.device)
    shipped = load_sentence_transformer(base, config.device)
    # The same token window for both, so the comparison measures the fine-tuning alone.
    base_model.max_seq_length = tuned.max_seq_length
    base_prompts = Prompts.of(describe_model(resolve_model(base)))
    return {
        "base": _System(base_model, base_prompts),
        SHIPPED: _System(shipped, base_prompts),
        "fine-tuned": _System(tuned, Prompts.of(describe_model(resolve_model(model)))),
    }


def evaluate_models(config: EvaluateConfig, workspace: Workspace) -> EvaluationReport:
    """Compare the base and fine-tuned models; see the module docstring.

    Raises:
        InputError: chunks.jsonl is missing, or there are no eval pairs and no questions.
        ModelError: a model cannot be found or loaded.
    """
    chunks = read_chunks(workspace.chunks)
    model_spec = config.model or str(newest_model(workspace))
    base_spec = config.base_model or base_model_of(Path(model_spec))
    _, tasks = load_tasks(workspace, config.questions)
    if config.max_passages:  # a big corpus: every answer and a sample of the others
        tasks = [task.at_most(len(task.queries), config.max_passages) for task in tasks]
    if not tasks:
        raise InputError(
            "nothing to evaluate on: no eval pairs in the workspace and no --questions file. "
            "Run `edgembed generate` or pass --questions."
        )
    vectors = _CorpusVectors(_load_systems(config, model_spec, base_spec), chunks)
    reranker = _load_reranker(config)
    results: list[QuerySetResult] = []
    for task in tasks:
        models = vectors.of(task)
        results.append(_query_set(task, models, chunks, config.samples, reranker))
    decider = results[-1]
    delta = decider.delta_ndcg_at_10
    return EvaluationReport(
        model=model_spec,
        base_model=base_spec,
        chunks=len(chunks),
        query_sets=results,
        decided_on=decider.name,
        verdict=_verdict(delta, decider.ndcg_delta_ci, config.tolerance),
        delta_ndcg_at_10=delta,
        baseline=decider.baseline,
    )
