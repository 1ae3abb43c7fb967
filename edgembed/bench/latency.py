"""Latency and throughput per backend, for batches of exact token counts.

For each shape, all backends are timed in the same interleaved rounds (see `stats`), so a
ratio to PyTorch compares calls made under the same load.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from edgembed.bench.backends import PYTORCH, Backend
from edgembed.bench.inputs import Shape, Tokenize, exact_texts
from edgembed.bench.stats import (
    Interleaved,
    StopRule,
    Summary,
    paired_ratios,
    percentile,
    run_interleaved,
    summarize,
)
from edgembed.progress import progress

__all__ = ["BackendLatency", "ShapeLatency", "measure_latency"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BackendLatency:
    """One backend on one shape.

    Attributes:
        summary: latency percentiles of one call (the whole batch).
        tokens_per_s: batch x tokens / median latency.
        speedup: how many times faster than PyTorch: the median over rounds of PyTorch's
            block median / this backend's block median (None without PyTorch).
        speedup_band: the middle half (25th..75th percentile) of those per-round ratios.
    """

    summary: Summary
    tokens_per_s: float
    speedup: float | None
    speedup_band: tuple[float, float] | None

    def to_json(self) -> dict[str, Any]:
        band = [round(value, 3) for value in self.speedup_band] if self.speedup_band else None
        return {
            **self.summary.to_json(),
            "tokens_per_s": round(self.tokens_per_s, 1),
            "speedup_vs_pytorch": round(self.speedup, 3) if self.speedup else None,
            "speedup_band": band,
        }


@dataclass(frozen=True)
class ShapeLatency:
    """All backends on one shape, timed in the same rounds."""

    shape: Shape
    backends: dict[str, BackendLatency]
    run: Interleaved

    def to_json(self) -> dict[str, Any]:
        return {
            "batch": self.shape.batch,
            "tokens": self.shape.tokens,
            **self.run.to_json(),
            "backends": {name: figures.to_json() for name, figures in self.backends.items()},
        }


def measure_latency(
    backends: Sequence[Backend],
    tokenize: Tokenize,
    shapes: Sequence[Shape],
    rule: StopRule,
    max_tokens: int,
) -> tuple[list[ShapeLatency], list[str]]:
    """Time every backend on every shape that fits the model.

    Args:
        backends: what to time; ratios are to the one named ``pytorch``, when present.
        tokenize: the model's tokenizer, used to build exact-length texts.
        shapes: batch x tokens to time.
        rule: warm-up and when to stop repeating.
        max_tokens: the model's limit; longer shapes are skipped with a note.

    Returns:
        one result per shape timed; notes on shapes skipped.
    """
    results: list[ShapeLatency] = []
    notes = [
        f"{shape.label} skipped: the model takes at most {max_tokens} tokens"
        for shape in shapes
        if shape.tokens > max_tokens
    ]
    fitting = [shape for shape in shapes if shape.tokens <= max_tokens]
    for shape in progress(fitting, desc="latency", unit="shape"):
        texts = exact_texts(tokenize, shape.tokens, shape.batch)
        calls = {backend.name: _bound(backend, texts) for backend in backends}
        run = run_interleaved(calls, rule)
        log.info(
            "%s: %d rounds in %.1fs (settled: %s)",
            shape.label,
            run.rounds,
            run.seconds,
            run.settled,
        )
        names = [backend.name for backend in backends]
        results.append(ShapeLatency(shape, _figures(run, shape, names), run))
    return results, notes


def _bound(backend: Backend, texts: list[str]) -> Callable[[], object]:
    def call() -> object:
        return backend.embed(texts, None)

    return call


def _figures(run: Interleaved, shape: Shape, names: Sequence[str]) -> dict[str, BackendLatency]:
    reference = run.round_medians.get(PYTORCH)
    figures = {}
    for name in names:
        times = run.times[name]
        summary = summarize(times)
        speedup = band = None
        if reference is not None:
            # Ratios within a round cancel the load changes between rounds.
            ratios = paired_ratios(run.round_medians[PYTORCH], run.round_medians[name])
            speedup = percentile(ratios, 50)
            band = (percentile(ratios, 25), percentile(ratios, 75))
        tokens_per_s = shape.batch * shape.tokens / (summary.p50_ms / 1000)
        figures[name] = BackendLatency(summary, tokens_per_s, speedup, band)
    return figures
