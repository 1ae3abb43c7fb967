"""Percentiles, spread and the interleaved repeat-until-stable loop (with a fake clock)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from edgembed.bench.stats import (
    StopRule,
    paired_ratios,
    percentile,
    run_interleaved,
    run_paired,
    spread,
    summarize,
)


def test_percentile_interpolates_and_rejects_bad_input() -> None:
    values = [4.0, 1.0, 3.0, 2.0]
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 4.0
    assert percentile(values, 50) == pytest.approx(2.5)
    assert percentile([7.0], 99) == 7.0
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)
    with pytest.raises(ValueError, match="between 0 and 100"):
        percentile(values, 101)


def test_spread_is_the_interquartile_range_over_the_median() -> None:
    assert spread([10.0] * 8) == 0.0
    assert spread([8.0, 9.0, 10.0, 11.0, 12.0]) == pytest.approx((11.0 - 9.0) / 10.0)


def test_summarize_reports_milliseconds() -> None:
    summary = summarize([0.001 * i for i in range(1, 101)])
    assert summary.samples == 100
    assert summary.min_ms == pytest.approx(1.0)
    assert summary.p50_ms == pytest.approx(50.5)
    assert summary.p95_ms == pytest.approx(95.05)
    assert summary.p99_ms == pytest.approx(99.01)
    assert summary.mean_ms == pytest.approx(50.5)
    assert summary.to_json()["p50_ms"] == 50.5


def test_paired_ratios_compare_round_by_round() -> None:
    assert paired_ratios([10.0, 20.0, 30.0], [2.0, 5.0, 0.0]) == [5.0, 4.0]


class FakeClock:
    """A clock that each timed call advances by its own cost, and sleeping by its length."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def call(self, costs: Callable[[int], float], log: list[str], name: str) -> Callable[[], None]:
        count = [0]

        def run() -> None:
            log.append(name)
            self.now += costs(count[0])
            count[0] += 1

        return run


def test_interleaved_rounds_rotate_and_stop_once_settled() -> None:
    clock, log = FakeClock(), []
    calls = {
        "slow": clock.call(lambda i: 0.010, log, "slow"),
        "fast": clock.call(lambda i: 0.002, log, "fast"),
    }
    rule = StopRule(warmup=1, min_rounds=10, max_rounds=100, max_seconds=60, block_seconds=0)
    run = run_interleaved(calls, rule, clock=clock, sleep=clock.sleep)
    assert run.settled
    assert run.rounds == 15  # first check at 10 rounds, settled at the next one
    assert log[:2] == ["slow", "fast"]  # warm-up
    assert log[2:6] == ["slow", "fast", "fast", "slow"]  # the order rotates each round
    assert run.times["slow"] == pytest.approx([0.010] * 15)
    assert run.seconds == pytest.approx(15 * (0.012 + 2 * rule.settle_seconds))


def test_each_round_times_a_block_of_calls_per_backend() -> None:
    clock, log = FakeClock(), []
    calls = {
        "slow": clock.call(lambda i: 0.10, log, "slow"),
        "fast": clock.call(lambda i: 0.01 if i % 2 else 0.03, log, "fast"),
    }
    rule = StopRule(warmup=0, min_rounds=2, max_rounds=2, block_seconds=0.05, check_every=1)
    run = run_interleaved(calls, rule, clock=clock, sleep=clock.sleep)
    # a block runs until block_seconds have passed, and always at least one call
    assert log == ["slow"] + ["fast"] * 3 + ["fast"] * 3 + ["slow"]
    assert len(run.times["fast"]) == 6 and len(run.times["slow"]) == 2
    assert run.round_medians["fast"] == pytest.approx([0.03, 0.01])
    assert run.round_medians["slow"] == pytest.approx([0.10, 0.10])


def test_interleaved_keeps_going_while_the_median_moves_then_stops_at_max_rounds() -> None:
    clock, log = FakeClock(), []
    calls = {"drifting": clock.call(lambda i: 0.001 * 1.5**i, log, "drifting")}
    rule = StopRule(warmup=0, min_rounds=5, max_rounds=30, max_seconds=1e9, block_seconds=0)
    run = run_interleaved(calls, rule, clock=clock, sleep=clock.sleep)
    assert not run.settled
    assert run.rounds == 30


def test_interleaved_stops_at_the_time_bound_but_after_three_rounds() -> None:
    clock, log = FakeClock(), []
    calls = {"slow": clock.call(lambda i: 10.0, log, "slow")}
    rule = StopRule(warmup=0, min_rounds=10, max_rounds=100, max_seconds=5, settle_seconds=0)
    run = run_interleaved(calls, rule, clock=clock, sleep=clock.sleep)
    assert run.rounds == 3
    assert not run.settled
    assert run.to_json() == {"rounds": 3, "settled": False, "seconds": 30.0}


class Machine:
    """A fake clock whose load rises steadily: a block measured later reads slower."""

    def __init__(self, rise_per_s: float) -> None:
        self.clock = FakeClock()
        self.rise_per_s = rise_per_s
        self.log: list[str] = []

    def side(self, name: str, ms: float, block_s: float = 0.3) -> Callable[[], float]:
        def measure() -> float:
            self.log.append(name)
            self.clock.now += block_s
            return ms * (1 + self.rise_per_s * self.clock.now)

        return measure


def test_paired_rounds_flip_the_order_and_cancel_a_rising_load() -> None:
    machine = Machine(rise_per_s=0.2)
    rule = StopRule(min_rounds=10, max_rounds=40, max_seconds=1e9, check_every=2, tolerance=0.02)
    server, engine = machine.side("server", 3.0), machine.side("engine", 2.0)
    paired = run_paired(server, engine, rule, clock=machine.clock, sleep=machine.clock.sleep)
    assert machine.log[:4] == ["server", "engine", "engine", "server"]
    assert paired.settled and len(paired.ratios) >= 10
    # Whichever side goes second in a round reads the higher load: a fixed order would put
    # every round's ratio off the same way (here 2 to 6% low); flipping it cancels that.
    assert all(abs(ratio / 1.5 - 1) > 0.005 for ratio in paired.ratios)
    assert paired.ratio == pytest.approx(1.5, rel=0.005)
    fixed_order = [r for i, r in enumerate(paired.ratios) if i % 2 == 0]
    assert percentile(fixed_order, 50) / 1.5 < 0.98


def test_paired_rounds_stop_at_the_time_bound_but_after_three_rounds() -> None:
    machine = Machine(rise_per_s=0.0)
    rule = StopRule(min_rounds=10, max_rounds=40, max_seconds=1.0, settle_seconds=0)
    paired = run_paired(
        machine.side("a", 1.0), machine.side("b", 2.0), rule, machine.clock, machine.clock.sleep
    )
    assert len(paired.first) == len(paired.second) == 3 and not paired.settled
    assert paired.ratio == 0.5
