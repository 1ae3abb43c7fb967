"""The OpenVINO engine: the committed tiny export's fp32 file, run by OpenVINO's own runtime.

The tests that run OpenVINO skip when it is not installed (``pip install 'edgembed[openvino]'``);
the errors around it are checked either way.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from edgembed.errors import ConfigError, ManifestError, MissingExtraError
from edgembed.runtime import OnnxEmbedder

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
EXPORT = FIXTURES / "tiny-export"
GOLDEN = json.loads((FIXTURES / "tiny-golden.json").read_text(encoding="utf-8"))


def _openvino() -> None:
    pytest.importorskip("openvino", reason="openvino is not installed (edgembed[openvino])")


def test_a_missing_openvino_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "openvino", None)  # import openvino raises ImportError
    with pytest.raises(MissingExtraError, match=r"edgembed\[openvino\]"):
        OnnxEmbedder(EXPORT, engine="openvino")


def test_an_unknown_engine_is_refused() -> None:
    with pytest.raises(ConfigError, match="onnxruntime, openvino"):
        OnnxEmbedder(EXPORT, engine="tensorrt")


def test_openvino_refuses_int8_with_what_to_do() -> None:
    with pytest.raises(ConfigError, match="--variant auto or fp32"):
        OnnxEmbedder(EXPORT, "int8", engine="openvino")


def test_openvino_matches_the_golden_vectors() -> None:
    """auto picks the fp32 file; in bf16 (bf16 units) or f32 it stays within 0.999 of PyTorch."""
    _openvino()
    embedder = OnnxEmbedder(EXPORT, engine="openvino")
    assert embedder.variant == "fp32"
    assert embedder.precision in ("bf16", "f32")
    got = embedder.embed(GOLDEN["texts"])
    expected = np.asarray(GOLDEN["embeddings"], dtype=np.float32)
    assert got.shape == expected.shape
    assert (got * expected).sum(axis=1).min() >= 0.999
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-3)


def test_openvino_gives_a_text_the_same_vector_alone_and_in_any_batch() -> None:
    _openvino()
    embedder = OnnxEmbedder(EXPORT, engine="openvino")
    texts = [*GOLDEN["texts"], "ok", "How many PTO days carry over?"]
    alone = np.concatenate([embedder.embed([text]) for text in texts])
    batched = embedder.embed(texts)
    beside = embedder.embed(["How many PTO days carry over?", *["ok"] * 31])[0]
    assert (alone * batched).sum(axis=1).min() >= 0.9999
    assert float(beside @ alone[-1]) >= 0.9999


def test_openvino_answers_threads_at_once() -> None:
    """Each calling thread gets its own infer request: answers do not mix."""
    _openvino()
    embedder = OnnxEmbedder(EXPORT, engine="openvino", threads=1)
    texts = GOLDEN["texts"]
    expected = [embedder.embed([text]) for text in texts]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda text: embedder.embed([text]), texts * 4))
    for index, vector in enumerate(got):
        np.testing.assert_allclose(vector, expected[index % len(texts)], atol=1e-6)


def test_openvino_cannot_read_the_int8_file() -> None:
    """Why the engine serves fp32 only. When an OpenVINO release reads edgembed's per-row
    int8 file, this fails: measure it then (benchmarks/engines/compare.py)."""
    _openvino()
    from edgembed.runtime.openvino import OpenVinoSession

    ids = np.asarray([[101, 7592, 2088, 102]], dtype=np.int64)
    feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": 0 * ids}
    # MiniLM's int8 file fails to load (QEmbedLayerNormalization); the tiny one, without that
    # op, loads and then fails its per-row QuantizeLinear at the first call.
    with pytest.raises((ManifestError, RuntimeError), match="onnxruntime|FakeQuantize"):
        OpenVinoSession(EXPORT / "model.int8.onnx").run("sentence_embedding", feeds)
