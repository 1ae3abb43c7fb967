"""bench.json, bench.md and the printed tables, from a hand-made report."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from edgembed.bench.accuracy import AccuracyResult
from edgembed.bench.gate import Baseline, Check, check_figures
from edgembed.bench.http import HttpResult
from edgembed.bench.inputs import Shape
from edgembed.bench.latency import BackendLatency, ShapeLatency
from edgembed.bench.report import bench_tables, markdown_report, write_bench_report
from edgembed.bench.result import BenchReport
from edgembed.bench.stats import Interleaved, summarize
from edgembed.cli.table import format_table
from edgembed.evaluation.retrieval import RetrievalMetrics


def _latency(shape: Shape, torch_s: float, int8_s: float) -> ShapeLatency:
    run = Interleaved({}, {}, 12, True, 3.0)
    tokens = shape.batch * shape.tokens
    return ShapeLatency(
        shape,
        {
            "pytorch": BackendLatency(summarize([torch_s]), tokens / torch_s, 1.0, (1.0, 1.0)),
            "int8": BackendLatency(
                summarize([int8_s]), tokens / int8_s, torch_s / int8_s, (4.5, 6.5)
            ),
        },
        run,
    )


def _metrics(ndcg: float, acc3: float) -> RetrievalMetrics:
    return RetrievalMetrics(32, 0.5, acc3, 0.9, 0.6, ndcg, 0.9)


def make_report() -> BenchReport:
    http_level = {
        "concurrency": 1,
        "requests": 100,
        "completed": 100,
        "lost": 0,
        "status": {200: 100},
        "connection_errors": 0,
        "seconds": 1.0,
        "req_per_s": 100.0,
        "latency_ms": {"p50": 3.0, "p99": 6.0},
    }
    return BenchReport(
        export_dir=Path("/exports/minilm"),
        model="minilm",
        machine={"cpu": "Test CPU", "physical_cores": 2, "isa": "avx2", "load_before": [1.0]},
        settings={"mode": "quick"},
        backends=[
            {"name": "pytorch", "threads": 2, "detail": "torch"},
            {"name": "int8", "threads": 2, "detail": "onnxruntime"},
        ],
        latency=[_latency(Shape(1, 16), 0.010, 0.002), _latency(Shape(32, 128), 1.0, 0.3)],
        accuracy=[
            AccuracyResult(
                "eval pairs", 32, {"pytorch": _metrics(0.8, 0.9), "int8": _metrics(0.796, 0.875)}
            )
        ],
        http=HttpResult(
            "http://127.0.0.1:8001",
            [http_level, {**http_level, "concurrency": 16, "req_per_s": 300.0}],
            2.0,
            3.0,
            ready_s=0.8,
            idle_rss_mb=250.0,
            rss_after_large_mb=260.0,
        ),
        notes=["32x256 skipped: the model takes at most 128 tokens"],
        seconds=12.0,
    )


def test_figures_are_flat_and_named_for_the_gate() -> None:
    figures = make_report().figures()
    assert figures["speedup.int8.1x16"] == 5.0
    assert abs(figures["speedup.int8.32x128"] - 1 / 0.3) < 1e-9  # type: ignore[operator]
    assert "speedup.pytorch.1x16" not in figures
    assert abs(figures["accuracy.int8.eval_pairs.ndcg_ratio"] - 0.995) < 1e-9  # type: ignore[operator]
    assert abs(figures["accuracy.int8.eval_pairs.acc3_delta"] + 0.025) < 1e-9  # type: ignore[operator]
    assert figures["http.latency_ratio_c1"] == 1.5
    assert figures["http.overhead_ms_c1"] == 1.0
    assert figures["http.c1.req_per_s"] == 100.0
    assert figures["http.c16.p99_ms"] == 6.0
    assert figures["http.rss_after_large_mb"] == 260.0


def test_latency_ratio_is_the_median_of_the_rounds_that_compare_server_and_engine() -> None:
    report = make_report()
    assert report.http is not None and report.http.latency_ratio == 1.5  # 3.0 / 2.0, no rounds
    # A burst of load in one round (2.9) tips neither the ratio nor the gate's figure.
    http = replace(report.http, overhead_rounds=(2.9, 1.6, 1.7, 1.4, 1.8))
    assert http.latency_ratio == 1.7
    assert http.to_json()["latency_ratio_rounds"] == [2.9, 1.6, 1.7, 1.4, 1.8]
    assert replace(report, http=http).figures()["http.latency_ratio_c1"] == 1.7


def test_targets_stand_beside_their_measured_values() -> None:
    targets = {t.target.figure: t for t in make_report().targets()}
    assert targets["speedup.int8.1x16"].met is True
    assert targets["speedup.int8.32x128"].met is True  # 3.33x >= 3x (80% of the bound)
    assert targets["accuracy.int8.eval_pairs.ndcg_ratio"].met is True  # exactly 99.5%
    assert targets["accuracy.int8.real_questions.ndcg_ratio"].met is None  # not measured
    # Server targets are upper bounds: overhead 1.0 ms > 0.5, p99 6 ms <= 50, ready 0.8 s <= 1.
    assert targets["http.overhead_ms_c1"].met is False
    assert targets["http.c16.p99_ms"].met is True
    assert targets["http.ready_s"].met is True
    assert targets["http.idle_rss_mb"].met is False  # 250 MB > 200


def test_tables_print_every_section() -> None:
    tables = {table.title.split(" (")[0]: table for table in bench_tables(make_report())}
    assert list(tables) == [
        "Targets",
        "Latency",
        "Retrieval accuracy over the whole chunk corpus",
        "HTTP load on http://127.0.0.1:8001",
    ]
    latency = format_table(tables["Latency"].headers, tables["Latency"].rows)
    assert "5.00x (4.50-6.50)" in latency
    targets = format_table(tables["Targets"].headers, tables["Targets"].rows)
    assert "NO" in targets and "<= 0.50 ms" in targets and "<= 1.00 s" in targets
    http_title = next(t.title for t in bench_tables(make_report()) if t.title.startswith("HTTP"))
    assert "260 MB when idle after a large request" in http_title
    assert "server adds 1.00 ms at concurrency 1 = 1.50x" in http_title
    assert "ready 0.80 s" in http_title
    http = tables["HTTP load on http://127.0.0.1:8001"]
    assert [row[0] for row in http.rows] == [1, 16]


def test_reports_are_written_with_the_gate(tmp_path: Path) -> None:
    report = make_report()
    baseline = Baseline((Check("speedup.int8.1x16", 10.0, "higher", rel_tol=0.4),), "t")
    gate = check_figures(report.figures(), baseline, Path("baseline.json"))
    paths = write_bench_report(report, tmp_path / "reports", gate)
    assert [p.name for p in paths] == ["bench.json", "bench.md"]
    data = json.loads(paths[0].read_text())
    assert data["figures"]["speedup.int8.1x16"] == 5.0
    assert data["gate"]["passed"] is False
    assert data["latency"][0]["backends"]["int8"]["speedup_band"] == [4.5, 6.5]
    assert data["http"]["levels"][1]["req_per_s"] == 300.0
    markdown = paths[1].read_text()
    assert "| 1x16 | int8 | 2 |" in markdown
    assert "## Gate: FAILED" in markdown
    assert "WORSE    speedup.int8.1x16: 5.000 (baseline 10.000" in markdown
    assert "- 32x256 skipped" in markdown


def test_markdown_escapes_pipes_in_cells() -> None:
    report = make_report()
    report.accuracy[0] = AccuracyResult("a|b", 1, report.accuracy[0].metrics)
    assert "| a\\|b (1) | int8 |" in markdown_report(report, None)
