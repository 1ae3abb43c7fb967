"""`edgembed bench`: every section, in one run, against one export."""

from __future__ import annotations

import logging
import os
import platform
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from edgembed.bench.accuracy import AccuracyResult, measure_accuracy
from edgembed.bench.backends import PYTORCH, Backend, load_backends
from edgembed.bench.gate import (
    BaselineCheck,
    baseline_from_figures,
    check_figures,
    load_baseline,
    save_baseline,
)
from edgembed.bench.http import (
    LARGE_INPUTS,
    HttpResult,
    check_loopback,
    local_server,
    measure_http,
    rss_after_large_request,
)
from edgembed.bench.inputs import QUICK_SHAPES, SHAPES, Shape, Tokenize, exact_texts
from edgembed.bench.latency import ShapeLatency, measure_latency
from edgembed.bench.report import write_bench_report
from edgembed.bench.result import BenchReport
from edgembed.bench.stats import StopRule
from edgembed.config import BENCH_SECTIONS, BenchConfig
from edgembed.evaluation.task import load_tasks
from edgembed.formats.manifest import read_manifest, verify_file
from edgembed.models import find_export
from edgembed.runtime.cpu import cpu_model_name, physical_cores, this_cpu_int8_path
from edgembed.runtime.isa import detect_isa
from edgembed.runtime.session import load_tokenizer
from edgembed.workspace import Workspace

__all__ = ["BenchOutcome", "bench", "run_bench", "stop_rule"]

log = logging.getLogger(__name__)

HTTP_SHAPE = Shape(1, 16)
"""The HTTP section sends one 16-token query per request."""


def stop_rule(config: BenchConfig) -> StopRule:
    """Repetition bounds: shorter in --quick mode (CI), longer for a report."""
    if config.quick:
        return StopRule(
            warmup=2, min_rounds=10, max_rounds=300, max_seconds=config.max_seconds or 25
        )
    return StopRule(warmup=3, min_rounds=20, max_rounds=1000, max_seconds=config.max_seconds or 60)


@dataclass(frozen=True)
class BenchOutcome:
    """A run, the gate's verdict on it (with --check) and the files written."""

    report: BenchReport
    gate: BaselineCheck | None
    paths: list[Path]


def bench(config: BenchConfig, workspace: Workspace) -> BenchOutcome:
    """Run the bench, gate it against `config.check`, write the reports (and a baseline).

    The baseline is read before anything is measured, so a bad path fails at once. The
    reports are written whether or not the gate passes; the caller decides what a failed
    gate means (the CLI exits non-zero).

    Raises:
        ConfigError: the baseline cannot be read, or there is nothing to save in one.
        and whatever `run_bench` raises.
    """
    baseline = load_baseline(config.check) if config.check is not None else None
    report = run_bench(config, workspace)
    gate = None
    if baseline is not None and config.check is not None:
        gate = check_figures(report.figures(), baseline, config.check, this_cpu_int8_path())
    paths = write_bench_report(report, workspace.reports, gate)
    if config.save_baseline is not None:
        about = (
            f"{report.model} on {report.machine.get('cpu')} "
            f"({report.settings.get('mode')} mode, {time.strftime('%Y-%m-%d')})"
        )
        save_baseline(baseline_from_figures(report.figures(), about), config.save_baseline)
        paths.append(config.save_baseline)
    return BenchOutcome(report, gate, paths)


def run_bench(config: BenchConfig, workspace: Workspace) -> BenchReport:
    """Measure latency, accuracy and (optionally) HTTP load.

    Raises:
        ManifestError: the export cannot be found or loaded.
        ConfigError: a bad option (e.g. a non-loopback --http URL).
        InputError: the workspace's pairs or the questions file are malformed, or the server
            cannot be reached.
        ModelError: the PyTorch model named by --model cannot be loaded, or the server
            started by --serve did not get ready.
    """
    started = time.monotonic()
    if config.http_url is not None:
        check_loopback(config.http_url)
    export_dir = find_export(config.export_dir, workspace)
    manifest = read_manifest(export_dir)
    machine = {**_machine(), "load_before": os.getloadavg()}
    backends, notes = load_backends(export_dir, config.model, config.threads, config.engines)
    rule, shapes = stop_rule(config), QUICK_SHAPES if config.quick else SHAPES
    tokenize = _tokenizer(export_dir)
    latency: list[ShapeLatency] = []
    if config.runs("latency"):
        latency, skipped = measure_latency(
            backends, tokenize, shapes, rule, manifest.max_seq_length
        )
        notes += skipped
    # The sections below run in the order of these arguments.
    report = BenchReport(
        export_dir=export_dir,
        model=manifest.name,
        machine=machine,
        settings=_settings(config, rule, shapes),
        backends=[{"name": b.name, "threads": b.threads, "detail": b.detail} for b in backends],
        latency=latency,
        accuracy=_accuracy_section(backends, workspace, config, notes),
        http=_http_section(config, export_dir, tokenize, backends),
        notes=notes,
    )
    machine["load_after"] = os.getloadavg()
    return replace(report, seconds=time.monotonic() - started)


def _tokenizer(export_dir: Path) -> Tokenize:
    """The export's own tokenizer, never truncating (to build and check exact lengths)."""
    path = verify_file(export_dir, read_manifest(export_dir).tokenizer_file)
    tokenizer = load_tokenizer(path, None)

    def tokenize(texts: Sequence[str]) -> list[list[int]]:
        return [encoding.ids for encoding in tokenizer.encode_batch(list(texts))]

    return tokenize


def _accuracy_section(
    backends: list[Backend], workspace: Workspace, config: BenchConfig, notes: list[str]
) -> list[AccuracyResult]:
    if not config.runs("accuracy"):
        return []
    _, tasks = load_tasks(workspace, config.questions)
    if not tasks:
        notes.append(
            f"accuracy skipped: {workspace.root} has no chunks.jsonl with pairs.eval.jsonl "
            "and no --questions was given (run `edgembed generate DOCS` first)"
        )
        return []
    return measure_accuracy(backends, tasks)


def _http_section(
    config: BenchConfig, export_dir: Path, tokenize: Tokenize, backends: list[Backend]
) -> HttpResult | None:
    if config.http_url is None and not config.serve:
        return None
    onnx = {backend.name: backend for backend in backends if backend.name != PYTORCH}
    served = onnx.get("int8") or next(iter(onnx.values()))
    text = exact_texts(tokenize, HTTP_SHAPE.tokens, 1)[0]
    requests, seconds = (200, 15.0) if config.quick else (1000, 30.0)

    def measure(url: str) -> HttpResult:
        return measure_http(
            url,
            text,
            requests=requests,
            seconds=seconds,
            api_key=config.api_key,
            engine=lambda: served.embed([text], None),
        )

    if not config.serve:
        return measure(str(config.http_url))
    with local_server(export_dir, served.name, config.threads) as server:
        idle_rss_mb = server.rss_mb()
        result = measure(server.url)
        full_length = read_manifest(export_dir).max_seq_length
        large = exact_texts(tokenize, full_length, LARGE_INPUTS)
        rss_after_large_mb = rss_after_large_request(server, large)
    return replace(
        result,
        ready_s=server.ready_s,
        idle_rss_mb=idle_rss_mb,
        rss_after_large_mb=rss_after_large_mb,
    )


def _machine() -> dict[str, Any]:
    """The CPU and software the figures belong to."""
    import onnxruntime

    return {
        "cpu": cpu_model_name(),
        "logical_cpus": os.cpu_count(),
        "physical_cores": physical_cores(),
        "isa": detect_isa(),
        "python": platform.python_version(),
        "onnxruntime": onnxruntime.__version__,
    }


def _settings(config: BenchConfig, rule: StopRule, shapes: Sequence[Shape]) -> dict[str, Any]:
    return {
        "mode": "quick" if config.quick else "full",
        "threads_requested": config.threads,
        "shapes": [shape.label for shape in shapes],
        "stop_rule": asdict(rule),
        "sections": [s for s in BENCH_SECTIONS if config.runs(s)],
        "questions": str(config.questions) if config.questions else None,
    }
