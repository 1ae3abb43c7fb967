"""Parity figures and the int8 gate, on embeddings whose answers are known."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edgembed.corpus import Chunk, write_chunks
from edgembed.errors import ExportError, InputError
from edgembed.evaluation.task import RetrievalTask
from edgembed.evaluation.texts import BUILTIN_TEXTS, SHORT_TEXTS
from edgembed.exporter.parity import (
    GATE_NOISE_FLOOR,
    Reference,
    VariantParity,
    check_fp32,
    int8_gate,
    measure,
)
from edgembed.exporter.parity_texts import ParityTexts, load_parity_texts
from edgembed.formats.pairs import Pair, write_pairs
from edgembed.workspace import Workspace


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def _task(queries: tuple[str, ...], corpus: tuple[str, ...]) -> RetrievalTask:
    relevant = tuple(frozenset({i}) for i in range(len(queries)))
    return RetrievalTask("test", queries, corpus, relevant, corpus)


def _texts(queries: int, corpus: int) -> ParityTexts:
    task = _task(tuple(f"q{i}" for i in range(queries)), tuple(f"p{i}" for i in range(corpus)))
    return ParityTexts(task, source="test")


def test_identical_embeddings_are_perfect() -> None:
    texts = _texts(4, 12)
    emb = _unit(np.random.default_rng(0).normal(size=(16, 8)))
    parity = measure("fp32", None, emb, Reference(emb, 0.5), texts)
    assert parity.cosine_min == pytest.approx(1.0, abs=1e-6)
    assert parity.top10_agreement == 1.0
    assert parity.ndcg_ratio == pytest.approx(parity.ndcg_at_10 / 0.5)


def test_perfect_retrieval_scores_ndcg_one() -> None:
    texts = _texts(3, 5)
    corpus = _unit(np.eye(5, 6, dtype=np.float32) + 0.01)
    emb = np.concatenate([corpus[:3], corpus])
    parity = measure("int8", "r", emb, Reference(emb, 1.0), texts)
    assert parity.ndcg_at_10 == pytest.approx(1.0)
    assert parity.ndcg_ratio == pytest.approx(1.0)


def test_noise_lowers_cosine_and_agreement() -> None:
    rng = np.random.default_rng(1)
    ref = _unit(rng.normal(size=(40, 16)))
    noisy = _unit(ref + rng.normal(scale=0.3, size=ref.shape))
    parity = measure("int8", "r", noisy, Reference(ref, None), _texts(0, 40))
    assert parity.cosine_min < parity.cosine_mean < 0.99
    assert parity.top10_agreement < 1.0
    assert parity.ndcg_at_10 is None and parity.ndcg_ratio is None


def _parity(cos_mean: float, ratio: float | None) -> VariantParity:
    return VariantParity("int8", "per-channel", cos_mean - 0.01, cos_mean, 0.9, None, ratio)


@pytest.mark.parametrize(
    ("cos_mean", "ratio", "metric", "passed", "on_target"),
    [
        (0.999, 0.989, "ndcg_ratio", False, False),
        (0.95, 0.99, "ndcg_ratio", True, False),
        (0.95, 1.01, "ndcg_ratio", True, False),  # NDCG on target, embeddings too far off
        (0.996, 1.01, "ndcg_ratio", True, True),
        (0.996, 0.994, "ndcg_ratio", True, False),
        (0.996, None, "cosine_mean", True, True),
        (0.991, None, "cosine_mean", True, False),
        (0.989, None, "cosine_mean", False, False),
    ],
)
def test_gate_uses_ndcg_ratio_with_eval_pairs_and_the_target_needs_cosine_too(
    cos_mean: float, ratio: float | None, metric: str, passed: bool, on_target: bool
) -> None:
    gate = int8_gate(_parity(cos_mean, ratio))
    assert (gate.metric, gate.passed, gate.meets_target) == (metric, passed, on_target)
    assert ("passes" if passed else "fails") in gate.message


@pytest.mark.parametrize(
    ("ratio", "interval", "passed"),
    [
        (0.985, (-0.03, 0.004), True),  # a loss these questions cannot tell from noise
        (0.985, (-0.03, -0.002), False),  # a loss they can
        (0.96, (-0.08, 0.01), False),  # under the floor, noise or not
        (0.985, None, False),  # no interval: the plain 99% gate
    ],
)
def test_gate_forgives_a_loss_within_the_noise_down_to_a_floor(
    ratio: float, interval: tuple[float, float] | None, passed: bool
) -> None:
    parity = VariantParity("int8", "r", 0.98, 0.99, 0.9, 0.7, ratio, interval)
    gate = int8_gate(parity)
    assert gate.passed is passed and gate.meets_target is False
    assert ("passes" if passed else "fails") in gate.message
    if interval is not None and ratio >= GATE_NOISE_FLOOR:
        assert "95% interval" in gate.message


def test_measure_gives_the_interval_of_the_per_question_change() -> None:
    texts = _texts(3, 5)
    corpus = _unit(np.eye(5, 6, dtype=np.float32) + 0.01)
    perfect = np.concatenate([corpus[:3], corpus])
    reference = Reference(perfect, 1.0, np.ones(3))
    swapped = np.concatenate([corpus[[1, 0, 2]], corpus])  # two questions now miss the top
    parity = measure("int8", "r", swapped, reference, texts)
    assert parity.ndcg_delta_ci is not None
    low, high = parity.ndcg_delta_ci
    assert low <= (parity.ndcg_at_10 or 0) - 1.0 <= high <= 0


def test_fp32_that_drifts_from_pytorch_is_an_export_error() -> None:
    check_fp32(VariantParity("fp32", None, 0.9999, 1.0, 1.0, None, None))
    with pytest.raises(ExportError, match="does not reproduce PyTorch"):
        check_fp32(VariantParity("fp32", None, 0.99, 0.999, 1.0, None, None))


def _write_jsonl(path: Path, rows: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def _chunks(workspace: Workspace, n: int) -> None:
    chunks = [Chunk(f"c{i}", "d.md", "t", "", f"passage {i}", 2, i) for i in range(n)]
    workspace.root.mkdir(parents=True, exist_ok=True)
    write_chunks(workspace.chunks, chunks)


def test_builtin_texts_without_a_workspace(tmp_path: Path) -> None:
    texts = load_parity_texts(Workspace(tmp_path), limit=100)
    assert texts.corpus == BUILTIN_TEXTS and not texts.queries
    assert texts.source == "built-in sentences"


def test_chunks_without_pairs_are_sampled(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    _chunks(ws, 30)
    texts = load_parity_texts(ws, limit=10)
    assert len(texts.corpus) == 10 and not texts.queries
    assert texts == load_parity_texts(ws, limit=10)  # deterministic


def test_eval_pairs_point_into_the_corpus(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    _chunks(ws, 40)
    pairs = [(f"question {i}", f"c{i}") for i in range(25)] + [("stale", "gone")]
    write_pairs(
        ws.pairs_eval, [Pair(q, c, "passage", "d.md", "ict", "ict", "none") for q, c in pairs]
    )
    texts = load_parity_texts(ws, limit=20)
    assert len(texts.queries) == 20 and len(texts.corpus) == 20
    for query, relevant in zip(texts.queries, texts.relevant, strict=True):
        (index,) = relevant
        assert texts.corpus[index] == f"passage {query.split()[-1]}"


def test_malformed_pairs_say_how_to_fix(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    _chunks(ws, 3)
    _write_jsonl(ws.pairs_eval, [{"question": "no query field"}])
    with pytest.raises(InputError, match="edgembed generate"):
        load_parity_texts(ws, limit=10)


def test_short_inputs_count_in_the_cosine_but_not_in_retrieval() -> None:
    texts = ParityTexts(_task(("q0",), ("p0", "p1")), "test", short=("ok", "yes"))
    assert texts.texts == ["q0", "p0", "p1", "ok", "yes"]
    emb = _unit(np.eye(5, 6, dtype=np.float32) + 0.01)
    emb[0] = emb[1]
    noisy = emb.copy()
    noisy[3:] = _unit(emb[3:] + 0.5)
    parity = measure("int8", "r", noisy, Reference(emb, 1.0), texts)
    assert parity.ndcg_at_10 == pytest.approx(1.0) and parity.top10_agreement == 1.0
    assert parity.cosine_short_mean is not None and parity.cosine_short_mean < 0.99
    assert parity.cosine_mean == pytest.approx((3 + 2 * parity.cosine_short_mean) / 5, abs=1e-6)


def test_every_parity_set_holds_the_short_inputs(tmp_path: Path) -> None:
    texts = load_parity_texts(Workspace(tmp_path), 10)
    assert texts.short == SHORT_TEXTS
    assert all(1 <= len(text.split()) <= 3 for text in SHORT_TEXTS)


def test_real_questions_replace_the_eval_pairs(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    _chunks(ws, 40)
    _write_jsonl(ws.pairs_eval, [{"query": "synthetic", "positive_id": "c0"}])
    questions = tmp_path / "questions.jsonl"
    _write_jsonl(questions, [{"question": f"real {i}", "chunk_id": f"c{i}"} for i in range(15)])
    texts = load_parity_texts(ws, limit=20, questions=questions)
    assert sorted(texts.queries) == sorted(f"real {i}" for i in range(15))
    assert len(texts.corpus) == 20 and texts.short == SHORT_TEXTS
    assert str(questions) in texts.source
    for query, relevant in zip(texts.queries, texts.relevant, strict=True):
        (index,) = relevant
        assert texts.corpus[index] == f"passage {query.split()[-1]}"


def test_real_questions_need_the_chunks(tmp_path: Path) -> None:
    questions = tmp_path / "questions.jsonl"
    _write_jsonl(questions, [{"question": "q", "chunk_id": "c0"}])
    with pytest.raises(InputError, match="edgembed chunk"):
        load_parity_texts(Workspace(tmp_path / "ws"), limit=10, questions=questions)
