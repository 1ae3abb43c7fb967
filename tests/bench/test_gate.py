"""The regression gate: worse fails, better passes, the diff reads well, baselines load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgembed.bench.gate import (
    DEFAULT_CHECKS,
    Baseline,
    Check,
    baseline_from_figures,
    check_figures,
    load_baseline,
    save_baseline,
)
from edgembed.errors import ConfigError

COMMITTED = Path(__file__).resolve().parents[2] / "edgembed" / "bench" / "baseline.json"

SPEEDUP = Check("speedup.int8.1x16", expected=5.0, better="higher", rel_tol=0.4)
DELTA = Check("accuracy.int8.eval_pairs.ndcg_delta", expected=0.0, better="higher", abs_tol=0.01)
OVERHEAD = Check("http.latency_ratio_c1", 1.5, "lower", rel_tol=0.8, optional=True)
BASELINE = Baseline((SPEEDUP, DELTA, OVERHEAD), "test")


def verdicts(figures: dict[str, float | None]) -> dict[str, str]:
    result = check_figures(figures, BASELINE, Path("b.json"))
    return {row.check.figure: row.verdict for row in result.rows}


def test_limits_follow_direction_and_tolerances() -> None:
    assert SPEEDUP.limit == pytest.approx(3.0)
    assert DELTA.limit == pytest.approx(-0.01)
    assert OVERHEAD.limit == pytest.approx(2.7)


def test_figures_at_the_baseline_pass() -> None:
    figures = {SPEEDUP.figure: 5.0, DELTA.figure: 0.0, OVERHEAD.figure: 1.5}
    result = check_figures(figures, BASELINE, Path("b.json"))
    assert result.passed
    assert set(verdicts(figures).values()) == {"ok"}


def test_a_two_times_slower_int8_fails_and_the_diff_says_why() -> None:
    figures = {SPEEDUP.figure: 2.5, DELTA.figure: 0.0, OVERHEAD.figure: 1.5}
    result = check_figures(figures, BASELINE, Path("b.json"))
    assert not result.passed
    assert [row.check.figure for row in result.failures] == [SPEEDUP.figure]
    first = result.diff().splitlines()[0]
    assert first == "WORSE    speedup.int8.1x16: 2.500 (baseline 5.000, -50.0%, limit >= 3.000)"


def test_worse_accuracy_and_a_slower_server_fail() -> None:
    assert verdicts({SPEEDUP.figure: 5.0, DELTA.figure: -0.02, OVERHEAD.figure: 3.0}) == {
        SPEEDUP.figure: "ok",
        DELTA.figure: "worse",
        OVERHEAD.figure: "worse",
    }


def test_better_figures_pass_and_are_marked_better() -> None:
    figures = {SPEEDUP.figure: 9.0, DELTA.figure: 0.03, OVERHEAD.figure: 1.1}
    assert check_figures(figures, BASELINE, Path("b.json")).passed
    assert verdicts(figures) == {
        SPEEDUP.figure: "better",
        DELTA.figure: "better",
        OVERHEAD.figure: "ok",  # within the tolerance of 1.5
    }


def test_a_missing_figure_fails_unless_optional() -> None:
    result = check_figures({DELTA.figure: 0.0}, BASELINE, Path("b.json"))
    assert not result.passed
    assert verdicts({DELTA.figure: 0.0})[SPEEDUP.figure] == "missing"
    assert verdicts({DELTA.figure: 0.0})[OVERHEAD.figure] == "skipped"
    assert "not measured in this run" in result.diff()


def test_baselines_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    save_baseline(BASELINE, path)
    assert load_baseline(path) == BASELINE


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "not found"),
        ("{not json", "cannot be read"),
        ('{"checks": {}}', "format-1 bench baseline"),
        ('{"format_version": 1, "checks": {}}', 'no "checks"'),
        ('{"format_version": 1, "checks": {"x": {"expected": 1}}}', "needs a number"),
        ('{"format_version": 1, "checks": {"x": {"expected": 1, "better": "up"}}}', "higher"),
        (
            '{"format_version": 1, "checks": {"x": {"expected": 1, "better": "higher", '
            '"rel_tol": -1}}}',
            "negative",
        ),
    ],
)
def test_bad_baselines_are_refused(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "baseline.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_baseline(path)


def test_a_baseline_from_a_run_keeps_only_gated_measured_figures() -> None:
    figures = {"speedup.int8.1x16": 6.123456, "speedup.int8.32x128": None, "ungated.x": 0.5}
    baseline = baseline_from_figures(figures, "about")
    assert [(c.figure, c.expected) for c in baseline.checks] == [("speedup.int8.1x16", 6.1235)]
    with pytest.raises(ConfigError, match="none of the gated figures"):
        baseline_from_figures({"ungated.x": 0.5}, "about")


def test_the_committed_baseline_catches_a_two_times_regression() -> None:
    baseline = load_baseline(COMMITTED)
    assert {check.figure for check in baseline.checks} <= set(DEFAULT_CHECKS)
    at_baseline = {check.figure: check.expected for check in baseline.checks}
    assert check_figures(at_baseline, baseline, COMMITTED).passed
    for check in baseline.checks:
        if check.figure.startswith("speedup."):
            halved = {**at_baseline, check.figure: check.expected / 2}
            assert not check_figures(halved, baseline, COMMITTED).passed, check.figure
    for cpu in ("avx2-u8s8",):  # the CPU kinds the committed baseline has figures for
        mine = [c.for_cpu(cpu) for c in baseline.checks]
        assert any(c.cpu == cpu for c in mine)
        at_mine = {c.figure: c.expected for c in mine}
        assert check_figures(at_mine, baseline, COMMITTED, cpu).passed
        for check in mine:
            if check.cpu:
                halved = {**at_mine, check.figure: check.expected / 2}
                assert not check_figures(halved, baseline, COMMITTED, cpu).passed, check.figure
    data = json.loads(COMMITTED.read_text())
    assert data["about"]


def test_a_cpu_kind_is_held_to_its_own_figure(tmp_path: Path) -> None:
    """int8's speed-up is the CPU's: an AVX2 box is held to the AVX2 figure, a kind the
    baseline has no figure for to the baseline's own, and the diff says which applied."""
    check = Check("speedup.int8.32x128", 2.5, "higher", rel_tol=0.35,
                  expected_by_cpu={"avx2-u8s8": 1.45})  # fmt: skip
    baseline = Baseline((check,))
    on_avx2 = check_figures({check.figure: 1.4}, baseline, Path("b.json"), "avx2-u8s8")
    assert on_avx2.passed and "on avx2-u8s8" in on_avx2.diff()
    assert not check_figures({check.figure: 1.4}, baseline, Path("b.json"), "amx").passed
    assert not check_figures({check.figure: 1.4}, baseline, Path("b.json")).passed
    path = tmp_path / "baseline.json"
    save_baseline(baseline, path)
    assert load_baseline(path).checks == (check,)
    bad = {
        "format_version": 1,
        "checks": {check.figure: {**check.to_json(), "expected_by_cpu": {"avx3": 1.0}}},
    }
    path.write_text(json.dumps(bad))
    with pytest.raises(ConfigError, match="expected_by_cpu names"):
        load_baseline(path)
