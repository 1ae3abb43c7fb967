"""The bench's outputs: reports/bench.json (every figure), reports/bench.md (readable tables),
and the same tables for the terminal.

Each section becomes a `Table` once; the CLI prints it as plain text and the Markdown writer
as a Markdown table, so both always show the same figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgembed.atomic import write_json, write_text
from edgembed.bench.gate import BaselineCheck
from edgembed.bench.result import BenchReport

__all__ = ["Table", "bench_tables", "markdown_report", "write_bench_report"]


@dataclass(frozen=True)
class Table:
    """A titled table: header names and rows of cells (str, int or float)."""

    title: str
    headers: tuple[str, ...]
    rows: list[list[Any]]


def bench_tables(report: BenchReport) -> list[Table]:
    """The sections of the report that have figures, as tables, targets first."""
    tables = [
        _targets(report),
        _latency(report),
        _accuracy(report),
        _http(report),
    ]
    return [table for table in tables if table.rows]


def _ratio(value: float | None, band: tuple[float, float] | None = None) -> str:
    if value is None:
        return ""
    return f"{value:.2f}x" + (f" ({band[0]:.2f}-{band[1]:.2f})" if band else "")


def _targets(report: BenchReport) -> Table:
    rows = []
    for result in report.targets():
        target = result.target
        measured = "not measured" if result.value is None else target.format(result.value)
        met = {None: "", True: "yes", False: "NO"}[result.met]
        rows.append([target.what, target.goal, measured, met])
    return Table("Targets", ("target", "goal", "measured", "met"), rows)


def _latency(report: BenchReport) -> Table:
    threads = {backend["name"]: backend["threads"] for backend in report.backends}
    rows = []
    for result in report.latency:
        for name, figures in result.backends.items():
            summary = figures.summary
            rows.append(
                [
                    result.shape.label,
                    name,
                    threads.get(name, ""),
                    round(summary.p50_ms, 2),
                    round(summary.p95_ms, 2),
                    round(summary.p99_ms, 2),
                    int(figures.tokens_per_s),
                    _ratio(figures.speedup, figures.speedup_band),
                    f"{summary.spread:.1%}",
                    f"{summary.samples}/{result.run.rounds}" + _bound(result.run.settled),
                ]
            )
    headers = (
        "shape",
        "backend",
        "threads",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "tokens/s",
        "vs PyTorch (IQR)",
        "spread",
        "calls/rounds",
    )
    return Table("Latency (batch x tokens; spread = IQR / median)", headers, rows)


def _bound(settled: bool) -> str:
    """Marks a figure whose repetition stopped at a bound before the medians settled."""
    return "" if settled else " (bound)"


def _accuracy(report: BenchReport) -> Table:
    rows = []
    for result in report.accuracy:
        for name, metrics in result.metrics.items():
            ratio = result.ndcg_ratio(name)
            delta_ndcg, delta_acc = (
                result.delta(name, "ndcg_at_10"),
                result.delta(name, "accuracy_at_3"),
            )
            rows.append(
                [
                    f"{result.query_set} ({result.queries})",
                    name,
                    round(metrics.ndcg_at_10, 4),
                    round(metrics.accuracy_at_3, 4),
                    "" if delta_ndcg is None else f"{delta_ndcg:+.4f}",
                    "" if delta_acc is None else f"{delta_acc:+.4f}",
                    "" if ratio is None else f"{ratio:.2%}",
                ]
            )
    headers = ("query set", "backend", "NDCG@10", "Acc@3", "Δ NDCG@10", "Δ Acc@3", "vs PyTorch")
    return Table("Retrieval accuracy over the whole chunk corpus", headers, rows)


def _http(report: BenchReport) -> Table:
    http = report.http
    if http is None:
        return Table("HTTP", (), [])
    rows = [
        [
            level["concurrency"],
            level["completed"],
            level["req_per_s"],
            level["latency_ms"].get("p50", ""),
            level["latency_ms"].get("p99", ""),
            ", ".join(f"{code}: {n}" for code, n in level["status"].items()),
            level["connection_errors"] + level["lost"],
        ]
        for level in http.levels
    ]
    notes = []
    if http.overhead_ms is not None and http.latency_ratio is not None:
        notes.append(
            f"engine p50 {http.engine_p50_ms:.2f} ms; server adds {http.overhead_ms:.2f} ms at "
            f"concurrency 1 = {http.latency_ratio:.2f}x"
        )
    if http.ready_s is not None:
        notes.append(f"ready {http.ready_s:.2f} s after start")
    if http.idle_rss_mb is not None:
        notes.append(f"{http.idle_rss_mb:.0f} MB resident when idle")
    if http.rss_after_large_mb is not None:
        notes.append(f"{http.rss_after_large_mb:.0f} MB when idle after a large request")
    title = f"HTTP load on {http.url}" + (f" ({'; '.join(notes)})" if notes else "")
    headers = ("concurrency", "requests", "req/s", "p50 ms", "p99 ms", "statuses", "errors")
    return Table(title, headers, rows)


def _markdown_table(table: Table) -> str:
    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|")

    lines = [
        f"## {table.title}",
        "",
        "| " + " | ".join(table.headers) + " |",
        "|" + "|".join("---" for _ in table.headers) + "|",
        *("| " + " | ".join(cell(value) for value in row) + " |" for row in table.rows),
    ]
    return "\n".join(lines)


def markdown_report(report: BenchReport, gate: BaselineCheck | None) -> str:
    """bench.md: the machine, the settings, every table, the notes and the gate's diff."""
    machine = report.machine
    backends = ", ".join(
        f"{b['name']} ({b['threads']} threads; {b['detail']})" for b in report.backends
    )
    parts = [
        f"# Bench: {report.model}",
        "",
        f"- export: `{report.export_dir}`",
        f"- machine: {machine.get('cpu')}, {machine.get('physical_cores')} physical cores, "
        f"{machine.get('isa')}, onnxruntime {machine.get('onnxruntime')}",
        f"- load average before/after: {_load(machine.get('load_before'))} / "
        f"{_load(machine.get('load_after'))}",
        f"- backends: {backends}",
        f"- mode: {report.settings.get('mode')}, {report.seconds:.0f} s",
        "",
        *(_markdown_table(table) + "\n" for table in bench_tables(report)),
    ]
    if report.notes:
        parts += ["## Notes", "", *(f"- {note}" for note in report.notes), ""]
    if gate is not None:
        verdict = "passed" if gate.passed else "FAILED"
        parts += [f"## Gate: {verdict} (`{gate.baseline}`)", "", "```", gate.diff(), "```", ""]
    return "\n".join(parts)


def _load(values: Sequence[float] | None) -> str:
    return "?" if not values else " ".join(f"{value:.2f}" for value in values)


def write_bench_report(
    report: BenchReport, reports_dir: Path, gate: BaselineCheck | None = None
) -> list[Path]:
    """Write bench.json and bench.md into `reports_dir`, atomically; return their paths."""
    json_path, md_path = reports_dir / "bench.json", reports_dir / "bench.md"
    data = report.to_json()
    data["gate"] = gate.to_json() if gate is not None else None
    write_json(json_path, data)
    write_text(md_path, markdown_report(report, gate))
    return [json_path, md_path]
