"""Accuracy per backend: tasks from a real workspace, metrics from edgembed.evaluation."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from edgembed.bench.accuracy import measure_accuracy
from edgembed.bench.backends import Backend
from edgembed.evaluation.task import RetrievalTask, load_tasks
from edgembed.workspace import Workspace


def bag_of_words(noise: float = 0.0) -> Backend:
    """Hashed bag-of-words embeddings (+ noise): a backend whose retrieval is predictable."""

    def embed(texts: Sequence[str], input_type: str | None = None) -> NDArray[np.float32]:
        out = np.zeros((len(texts), 256), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % 256] += 1.0
        out += noise * np.random.default_rng(0).standard_normal(out.shape).astype(np.float32)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)

    return Backend("x", embed, 1, "test")


def test_accuracy_is_scored_per_backend_against_pytorch(bench_workspace: Workspace) -> None:
    _, tasks = load_tasks(bench_workspace, bench_workspace.root / "questions.jsonl")
    same, noisy = bag_of_words(), bag_of_words(noise=0.3)
    backends = [
        Backend("pytorch", same.embed, 1, ""),
        Backend("fp32", same.embed, 1, ""),
        Backend("int8", noisy.embed, 1, ""),
    ]
    results = measure_accuracy(backends, tasks)
    assert [r.query_set for r in results] == ["eval pairs", "real questions"]
    # The eval pairs are scored as evaluate scores them: their sentences are not in the corpus.
    assert results[0].metrics["pytorch"].ndcg_at_10 < results[1].metrics["pytorch"].ndcg_at_10
    for result in results:
        assert result.ndcg_ratio("fp32") == 1.0
        assert result.delta("fp32", "accuracy_at_3") == 0.0
        assert result.metrics["pytorch"].ndcg_at_10 > 0.1  # shared words find some
        assert result.delta("int8", "ndcg_at_10") < 0  # noise costs accuracy
        row = result.to_json()["backends"]["int8"]
        assert row["delta_ndcg_at_10"] == result.delta("int8", "ndcg_at_10")


def test_without_pytorch_there_are_no_ratios() -> None:
    task = RetrievalTask(
        "q", ("alpha",), ("alpha beta", "gamma delta"), (frozenset({0}),), ("0", "1")
    )
    (result,) = measure_accuracy([Backend("int8", bag_of_words().embed, 1, "")], [task])
    assert result.metrics["int8"].accuracy_at_1 == 1.0
    assert result.ndcg_ratio("int8") is None and result.delta("int8", "ndcg_at_10") is None
