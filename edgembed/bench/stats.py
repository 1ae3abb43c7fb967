"""Timing statistics: percentiles, spread, and interleaved repetition until the figures settle.

The bench shares its CPU with whatever else runs, so one backend is never timed alone: every
round times a short block of calls of each backend, in an order that rotates, and a ratio
between two backends is taken from the same rounds. Rounds go on until the medians stop
moving (or a bound is hit). `run_paired` does the same for two sides that each time a block
of their own (a server's requests against the engine's calls).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "Interleaved",
    "Paired",
    "StopRule",
    "Summary",
    "paired_ratios",
    "percentile",
    "run_interleaved",
    "run_paired",
    "spread",
    "summarize",
]


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) of `values`, linearly interpolated.

    Raises:
        ValueError: `values` is empty or `q` is outside 0..100.
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be between 0 and 100, got {q}")
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def spread(values: Sequence[float]) -> float:
    """Interquartile range relative to the median: 0.05 means the middle half of the
    values lies within a band 5% of the median wide."""
    median = percentile(values, 50)
    return (percentile(values, 75) - percentile(values, 25)) / median if median else 0.0


@dataclass(frozen=True)
class Summary:
    """Latency figures of one series of timings, in milliseconds."""

    samples: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    min_ms: float
    spread: float

    def to_json(self) -> dict[str, float | int]:
        return {
            "samples": self.samples,
            "p50_ms": round(self.p50_ms, 3),
            "p95_ms": round(self.p95_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
            "mean_ms": round(self.mean_ms, 3),
            "min_ms": round(self.min_ms, 3),
            "spread": round(self.spread, 4),
        }


def summarize(seconds: Sequence[float]) -> Summary:
    """Percentiles and spread of timings given in seconds.

    Raises:
        ValueError: `seconds` is empty.
    """
    ms = [value * 1000 for value in seconds]
    return Summary(
        samples=len(ms),
        p50_ms=percentile(ms, 50),
        p95_ms=percentile(ms, 95),
        p99_ms=percentile(ms, 99),
        mean_ms=sum(ms) / len(ms),
        min_ms=min(ms),
        spread=spread(ms),
    )


def paired_ratios(reference: Sequence[float], other: Sequence[float]) -> list[float]:
    """reference[i] / other[i] per round: how many times faster `other` was in each round."""
    return [ref / value for ref, value in zip(reference, other, strict=True) if value > 0]


@dataclass(frozen=True)
class StopRule:
    """How interleaved timing runs, and when it stops.

    Attributes:
        warmup: untimed calls of each backend first (thread pools, caches, lazy init).
        min_rounds: never fewer rounds than this (unless `max_seconds` runs out first, and
            then never fewer than 3).
        max_rounds: never more.
        max_seconds: stop starting new rounds after this long.
        block_seconds: in each round a backend is called back to back for this long (at least
            once), so it is timed with its thread pool awake, as under steady traffic.
        settle_seconds: pause before each block, so that the previous backend's threads,
            which spin for a while after their last call, stop taking CPU from this one.
        check_every: test for stability every this many rounds.
        tolerance: settled when no median and no ratio between medians moved by more than
            this fraction since the previous test.
    """

    warmup: int = 2
    min_rounds: int = 10
    max_rounds: int = 300
    max_seconds: float = 30.0
    block_seconds: float = 0.2
    settle_seconds: float = 0.02
    check_every: int = 5
    tolerance: float = 0.02


@dataclass(frozen=True)
class Interleaved:
    """Timings (seconds) per backend and how the loop ended.

    Attributes:
        times: every timed call.
        round_medians: per round, the median of the backend's block (for paired ratios).
    """

    times: Mapping[str, Sequence[float]]
    round_medians: Mapping[str, Sequence[float]]
    rounds: int
    settled: bool
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {"rounds": self.rounds, "settled": self.settled, "seconds": round(self.seconds, 2)}


def run_interleaved(
    calls: Mapping[str, Callable[[], object]],
    rule: StopRule,
    clock: Callable[[], float] = time.perf_counter,
    sleep: Callable[[float], None] = time.sleep,
) -> Interleaved:
    """Time each call in blocks, one block per backend per round, rotating the order, until
    the medians settle.

    Args:
        calls: name -> a call to time (its result is ignored).
        rule: warm-up, blocks, bounds and the stability test.
        clock: seconds, monotonic; sleep: pause (tests pass fake ones).
    """
    names = list(calls)
    for name in names:
        for _ in range(rule.warmup):
            calls[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    medians: dict[str, list[float]] = {name: [] for name in names}
    started = clock()
    previous: list[float] | None = None
    rounds, settled = 0, False
    while rounds < rule.max_rounds:
        shift = rounds % len(names)
        for name in names[shift:] + names[:shift]:
            sleep(rule.settle_seconds)
            block = _block(calls[name], rule.block_seconds, clock)
            times[name] += block
            medians[name].append(percentile(block, 50))
        rounds += 1
        if rounds >= rule.min_rounds and rounds % rule.check_every == 0:
            current = _settling_figures(times)
            if previous is not None and _moved(previous, current) <= rule.tolerance:
                settled = True
                break
            previous = current
        if clock() - started >= rule.max_seconds and rounds >= min(3, rule.min_rounds):
            break
    return Interleaved(times, medians, rounds, settled, clock() - started)


@dataclass(frozen=True)
class Paired:
    """Two sides measured in turns: each round's block figure per side, and how it ended."""

    first: tuple[float, ...]
    second: tuple[float, ...]
    settled: bool

    @property
    def ratios(self) -> list[float]:
        """first / second in each round."""
        return paired_ratios(self.first, self.second)

    @property
    def ratio(self) -> float:
        """The median of the rounds' ratios."""
        return percentile(self.ratios, 50)


def run_paired(
    first: Callable[[], float],
    second: Callable[[], float],
    rule: StopRule,
    clock: Callable[[], float] = time.perf_counter,
    sleep: Callable[[float], None] = time.sleep,
) -> Paired:
    """Measure two sides in turns, one block each per round, the order flipping every round,
    until the median of the rounds' first/second ratios settles.

    A busy machine slows both blocks of a round alike, so each round's ratio keeps what a
    median taken over each side's rounds apart loses when the load comes and goes; flipping
    the order cancels what a steady rise or fall of the load does within a round.

    Args:
        first, second: each measures one block and returns its figure (e.g. a median
            latency). `rule` gives the rounds, the time bound, the settle pause before each
            block and the stability test (its warmup and block_seconds are the sides' own).
    """
    figures: tuple[list[float], list[float]] = ([], [])
    started = clock()
    previous: float | None = None
    settled = False
    while len(figures[0]) < rule.max_rounds:
        rounds = len(figures[0])
        turns = ((first, figures[0]), (second, figures[1]))
        for measure, values in turns if rounds % 2 == 0 else turns[::-1]:
            sleep(rule.settle_seconds)
            values.append(measure())
        rounds += 1
        if rounds >= rule.min_rounds and rounds % rule.check_every == 0:
            current = percentile(paired_ratios(*figures), 50)
            if previous is not None and _moved([previous], [current]) <= rule.tolerance:
                settled = True
                break
            previous = current
        if clock() - started >= rule.max_seconds and rounds >= min(3, rule.min_rounds):
            break
    return Paired(tuple(figures[0]), tuple(figures[1]), settled)


def _block(call: Callable[[], object], seconds: float, clock: Callable[[], float]) -> list[float]:
    samples: list[float] = []
    start = clock()
    while not samples or clock() - start < seconds:
        begin = clock()
        call()
        samples.append(clock() - begin)
    return samples


def _settling_figures(times: Mapping[str, Sequence[float]]) -> list[float]:
    """Each median, and each median relative to the first backend's (the ratios reported)."""
    medians = [percentile(series, 50) for series in times.values()]
    return medians + [medians[0] / median for median in medians[1:] if median > 0]


def _moved(before: Sequence[float], after: Sequence[float]) -> float:
    return max((abs(a - b) / b for a, b in zip(after, before, strict=True) if b > 0), default=0.0)
