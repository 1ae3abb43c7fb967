"""The real all-MiniLM-L6-v2: fp32 reproduces PyTorch, int8 passes the gate at a quarter size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgembed.evaluation.texts import BUILTIN_TEXTS
from edgembed.exporter import ExportResult
from edgembed.runtime import OnnxEmbedder


@pytest.mark.slow
def test_bundled_minilm_export(bundled_minilm: Path, minilm_export: ExportResult) -> None:
    from sentence_transformers import SentenceTransformer

    result = minilm_export
    manifest = result.manifest
    assert (manifest.dimension, manifest.max_seq_length, manifest.model.pooling) == (
        384,
        256,
        "mean",
    )
    assert result.gate is not None and result.gate.passed and result.int8_kept
    # Short texts ("yes", emoji) are the hardest for int8; with a scale per token row every
    # MatMul in int8 reaches the target (mean cosine 0.995) on the first try.
    assert [p.recipe for p in result.int8_tried] == ["per-channel"]
    assert result.gate.meets_target
    assert result.int8 is not None
    assert result.int8.cosine_min > 0.965 and result.int8.cosine_mean >= 0.995
    quantization = manifest.model_file("int8").quantization or {}
    assert quantization["method"] == "dynamic-per-row" and quantization["smoothing"]
    # Its six attention layers run without their mask on unpadded calls (exporter/unpadded.py).
    assert quantization["unmasked_when_unpadded"] == {"attention_layers": 6, "min_tokens": 64}
    assert manifest.model_file("fp32").bytes > 80e6
    assert manifest.model_file("int8").bytes < 30e6

    texts = list(BUILTIN_TEXTS)
    expected = SentenceTransformer(str(bundled_minilm), device="cpu").encode(texts)
    fp32 = OnnxEmbedder(result.out, variant="fp32").embed(texts)
    np.testing.assert_allclose(fp32, expected, atol=1e-5)
    int8 = OnnxEmbedder(result.out).embed(texts)
    assert float((int8 * expected).sum(axis=1).mean()) > 0.99


@pytest.mark.slow
def test_minilm_int8_gives_a_text_its_own_vector_in_any_batch(
    minilm_export: ExportResult,
) -> None:
    """#18: per-call activation scales moved this query to cosine 0.988 beside one 5-word text."""
    engine = OnnxEmbedder(minilm_export.out, variant="int8")
    query = "How many PTO days carry over?"
    alone = engine.embed([query])[0]
    for others in (["ok"], ["Where is the parking lot?"], ["ok"] * 31, [BUILTIN_TEXTS[-2]]):
        beside = engine.embed([query, *others], batch_size=64)[0]
        assert float(beside @ alone) >= 0.9999, others[0]


@pytest.mark.slow
def test_minilm_int8_gives_a_long_text_its_own_vector_in_any_batch(
    minilm_export: ExportResult,
) -> None:
    """A text of 64 tokens or more takes the unmasked attention alone and in any batch: the
    runtime never pads it (a padded call takes the masked kernel: 0.9998 to itself)."""
    engine = OnnxEmbedder(minilm_export.out, variant="int8")
    words = " ".join(BUILTIN_TEXTS).split()
    passage, longer, shorter = (" ".join(words[:count]) for count in (80, 100, 70))
    assert 64 <= len(engine.tokenize([shorter])[0]) < len(engine.tokenize([passage])[0])
    alone = engine.embed([passage])[0]
    # Padded to its neighbours' length (within twice its own) it would take the masked path.
    for others in (["ok"], [longer], [shorter, longer] * 3):
        beside = engine.embed([passage, *others], batch_size=64)[0]
        assert float(beside @ alone) >= 0.99999, others
