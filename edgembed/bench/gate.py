"""The regression gate: this run's figures against a committed baseline.

A baseline is JSON::

    {"format_version": 1,
     "checks": {"speedup.int8.1x16": {"expected": 5.0, "better": "higher", "rel_tol": 0.4},
                "accuracy.int8.eval_pairs.ndcg_delta":
                    {"expected": 0.0, "better": "higher", "abs_tol": 0.01},
                "http.latency_ratio_c1":
                    {"expected": 1.5, "better": "lower", "rel_tol": 0.8, "optional": true}}}

A check may also hold ``"expected_by_cpu": {"avx2-u8s8": 1.6}``: what the figure is on a
kind of int8 arithmetic (runtime.cpu.INT8_PATHS) other than the baseline's own machine's.
int8's speed-up over PyTorch is a property of the CPU (AVX2 multiplies int8 at about half the
rate of AVX-512 VNNI), so a CI box of another kind is held to its own figure.

Only ratios and accuracy differences are gated, never absolute times: machines differ, and
a shared machine is noisy. A figure fails when it is worse than ``expected`` by more than
its tolerance (``rel_tol`` x |expected| + ``abs_tol``); a missing figure fails unless the
check is optional.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from edgembed.atomic import write_json
from edgembed.errors import ConfigError
from edgembed.runtime.cpu import INT8_PATHS

__all__ = [
    "BASELINE_FORMAT",
    "DEFAULT_CHECKS",
    "Baseline",
    "Check",
    "BaselineCheck",
    "GateRow",
    "baseline_from_figures",
    "check_figures",
    "load_baseline",
    "save_baseline",
]

BASELINE_FORMAT = 1


@dataclass(frozen=True)
class Check:
    """One gated figure: its expected value, which way is better, and the tolerance."""

    figure: str
    expected: float
    better: str
    rel_tol: float = 0.0
    abs_tol: float = 0.0
    optional: bool = False
    expected_by_cpu: Mapping[str, float] = field(default_factory=dict)
    cpu: str | None = None
    """The CPU class `expected` was taken for (None: the baseline's own machine)."""

    def __post_init__(self) -> None:
        if self.better not in ("higher", "lower"):
            raise ConfigError(f"check '{self.figure}': better must be 'higher' or 'lower'")
        if self.rel_tol < 0 or self.abs_tol < 0:
            raise ConfigError(f"check '{self.figure}': tolerances must not be negative")
        unknown = set(self.expected_by_cpu) - set(INT8_PATHS)
        if unknown:
            raise ConfigError(
                f"check '{self.figure}': expected_by_cpu names {sorted(unknown)}; the kinds "
                f"are {', '.join(INT8_PATHS)}"
            )

    def for_cpu(self, cpu: str | None) -> Check:
        """This check as it applies on a CPU of class `cpu`."""
        if cpu is None or cpu not in self.expected_by_cpu:
            return self
        return replace(self, expected=self.expected_by_cpu[cpu], cpu=cpu)

    @property
    def margin(self) -> float:
        return abs(self.expected) * self.rel_tol + self.abs_tol

    @property
    def limit(self) -> float:
        """The worst value that still passes."""
        return (
            self.expected - self.margin if self.better == "higher" else self.expected + self.margin
        )

    def verdict(self, value: float) -> str:
        """``worse`` past the limit, ``better`` as far past expected the other way, else ``ok``."""
        sign = 1.0 if self.better == "higher" else -1.0
        if sign * (value - self.limit) < 0:
            return "worse"
        if sign * (value - self.expected) > self.margin:
            return "better"
        return "ok"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"expected": self.expected, "better": self.better}
        if self.rel_tol:
            data["rel_tol"] = self.rel_tol
        if self.abs_tol:
            data["abs_tol"] = self.abs_tol
        if self.optional:
            data["optional"] = True
        if self.expected_by_cpu:
            data["expected_by_cpu"] = dict(self.expected_by_cpu)
        return data


@dataclass(frozen=True)
class Baseline:
    """The checks of a baseline file, and its free-text description."""

    checks: tuple[Check, ...]
    about: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": BASELINE_FORMAT,
            "about": self.about,
            "checks": {check.figure: check.to_json() for check in self.checks},
        }


# The figures gated by a baseline written with --save-baseline, and their tolerances. rel_tol
# 0.4 on a speed-up lets noise take 40% off it while a 2x regression (-50%) still fails; the
# accuracy tolerances allow about two queries of 32 eval pairs, or five of 130 questions, to
# move. The server's figure is loose: it is measured beside the engine on a shared CPU.
DEFAULT_CHECKS: dict[str, dict[str, Any]] = {
    "speedup.int8.1x16": {"better": "higher", "rel_tol": 0.4},
    "speedup.int8.32x128": {"better": "higher", "rel_tol": 0.4},
    "accuracy.int8.eval_pairs.ndcg_delta": {"better": "higher", "abs_tol": 0.02},
    "accuracy.int8.eval_pairs.acc3_delta": {"better": "higher", "abs_tol": 0.07},
    "accuracy.int8.real_questions.ndcg_delta": {"better": "higher", "abs_tol": 0.015},
    "accuracy.int8.real_questions.acc3_delta": {"better": "higher", "abs_tol": 0.04},
    "http.latency_ratio_c1": {"better": "lower", "rel_tol": 1.0, "optional": True},
}


def load_baseline(path: Path) -> Baseline:
    """Read and check a baseline file.

    Raises:
        ConfigError: the file is missing, not JSON, or a check is malformed.
    """
    if not path.is_file():
        raise ConfigError(
            f"baseline {path} not found. Pass the committed one (edgembed/bench/baseline.json) "
            "or write one from a run with --save-baseline."
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"baseline {path} cannot be read: {exc}") from exc
    if not isinstance(data, dict) or data.get("format_version") != BASELINE_FORMAT:
        raise ConfigError(
            f"baseline {path} is not a format-{BASELINE_FORMAT} bench baseline "
            '(a JSON object with "format_version": 1 and "checks").'
        )
    checks = data.get("checks")
    if not isinstance(checks, dict) or not checks:
        raise ConfigError(f'baseline {path} has no "checks" object')
    return Baseline(
        tuple(_check(path, name, spec) for name, spec in checks.items()), str(data.get("about", ""))
    )


def _check(path: Path, name: str, spec: Any) -> Check:
    try:
        return Check(
            figure=name,
            expected=float(spec["expected"]),
            better=str(spec["better"]),
            rel_tol=float(spec.get("rel_tol", 0.0)),
            abs_tol=float(spec.get("abs_tol", 0.0)),
            optional=bool(spec.get("optional", False)),
            expected_by_cpu={
                str(cpu): float(value) for cpu, value in spec.get("expected_by_cpu", {}).items()
            },
        )
    except (TypeError, KeyError, ValueError, AttributeError) as exc:
        raise ConfigError(
            f'baseline {path}: check \'{name}\' needs a number "expected" and "better": '
            f'"higher" or "lower" ({exc!r})'
        ) from exc


@dataclass(frozen=True)
class GateRow:
    """One check's outcome: ``ok``, ``better``, ``worse``, ``missing`` or ``skipped``."""

    check: Check
    value: float | None
    verdict: str

    @property
    def failed(self) -> bool:
        return self.verdict in ("worse", "missing")

    def line(self) -> str:
        """A readable one-line diff of this figure against the baseline."""
        c = self.check
        bound = f"{'>=' if c.better == 'higher' else '<='} {c.limit:.3f}"
        if self.value is None:
            return (
                f"{self.verdict.upper():8} {c.figure}: not measured in this run "
                f"(baseline {c.expected:.3f}, limit {bound})"
            )
        change = f", {(self.value - c.expected) / abs(c.expected):+.1%}" if c.expected else ""
        on = f" on {c.cpu}" if c.cpu else ""
        return (
            f"{self.verdict.upper():8} {c.figure}: {self.value:.3f} "
            f"(baseline {c.expected:.3f}{on}{change}, limit {bound})"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            **self.check.to_json(),
            "figure": self.check.figure,
            "limit": self.check.limit,
            "value": self.value,
            "verdict": self.verdict,
        }


@dataclass(frozen=True)
class BaselineCheck:
    """Every check of a baseline against one run."""

    baseline: Path
    rows: tuple[GateRow, ...]

    @property
    def passed(self) -> bool:
        return not any(row.failed for row in self.rows)

    @property
    def failures(self) -> tuple[GateRow, ...]:
        return tuple(row for row in self.rows if row.failed)

    def diff(self) -> str:
        """All rows, worst first, one line each."""
        order = {"worse": 0, "missing": 1, "ok": 2, "better": 3, "skipped": 4}
        rows = sorted(self.rows, key=lambda row: order[row.verdict])
        return "\n".join(row.line() for row in rows)

    def to_json(self) -> dict[str, Any]:
        return {
            "baseline": str(self.baseline),
            "passed": self.passed,
            "checks": [row.to_json() for row in self.rows],
        }


def check_figures(
    figures: Mapping[str, float | None], baseline: Baseline, path: Path, cpu: str | None = None
) -> BaselineCheck:
    """Compare a run's figures with a baseline's checks, as they apply on a CPU of int8
    class `cpu` (None: the baseline's own figures)."""
    rows = []
    for check in (c.for_cpu(cpu) for c in baseline.checks):
        value = figures.get(check.figure)
        if value is None:
            rows.append(GateRow(check, None, "skipped" if check.optional else "missing"))
        else:
            rows.append(GateRow(check, value, check.verdict(value)))
    return BaselineCheck(path, tuple(rows))


def baseline_from_figures(figures: Mapping[str, float | None], about: str) -> Baseline:
    """A baseline expecting this run's values for the figures in DEFAULT_CHECKS it measured."""
    checks = [
        Check(figure=name, expected=round(float(value), 4), **DEFAULT_CHECKS[name])
        for name, value in figures.items()
        if name in DEFAULT_CHECKS and value is not None
    ]
    if not checks:
        raise ConfigError(
            "this run measured none of the gated figures (speed-ups need PyTorch, accuracy "
            "needs chunks and eval pairs); nothing to save as a baseline"
        )
    return Baseline(tuple(checks), about)


def save_baseline(baseline: Baseline, path: Path) -> None:
    """Write a baseline file atomically."""
    write_json(path, baseline.to_json())
