"""Latency per shape: exact inputs reach every backend, ratios, skipped shapes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from edgembed.bench.backends import Backend
from edgembed.bench.inputs import Shape
from edgembed.bench.latency import measure_latency
from edgembed.bench.stats import StopRule

RULE = StopRule(warmup=1, min_rounds=3, max_rounds=3, block_seconds=0, settle_seconds=0)


def words(texts: Sequence[str]) -> list[list[int]]:
    """A tokenizer of one token per word, between two special tokens."""
    return [[0] + [1] * len(text.split()) + [0] for text in texts]


def recording(name: str, seen: list[tuple[int, int]]) -> Backend:
    def embed(texts: Sequence[str], input_type: str | None = None) -> NDArray[np.float32]:
        seen.append((len(texts), len(words(texts)[0])))
        return np.zeros((len(texts), 4), dtype=np.float32)

    return Backend(name, embed, 1, "test")


def test_every_backend_gets_the_exact_shape_and_a_ratio_to_pytorch() -> None:
    seen: list[tuple[int, int]] = []
    backends = [recording("pytorch", seen), recording("int8", seen)]
    results, notes = measure_latency(backends, words, [Shape(1, 16), Shape(4, 32)], RULE, 512)
    assert notes == []
    assert set(seen) == {(1, 16), (4, 32)}
    for result in results:
        assert set(result.backends) == {"pytorch", "int8"}
        int8 = result.backends["int8"]
        assert int8.summary.samples == 3
        assert int8.speedup is not None and int8.speedup_band is not None
        assert result.backends["pytorch"].speedup == 1.0
        p50_s = int8.summary.p50_ms / 1000
        assert abs(int8.tokens_per_s - result.shape.batch * result.shape.tokens / p50_s) < 1e-6


def test_shapes_longer_than_the_model_are_skipped() -> None:
    seen: list[tuple[int, int]] = []
    shapes = [Shape(1, 16), Shape(2, 64), Shape(2, 256)]
    results, notes = measure_latency([recording("int8", seen)], words, shapes, RULE, 128)
    assert notes == ["2x256 skipped: the model takes at most 128 tokens"]
    assert [r.shape for r in results] == shapes[:2]
    assert set(seen) == {(1, 16), (2, 64)}
    assert results[1].backends["int8"].speedup is None  # no PyTorch, no ratio
