"""`edgembed bench`: PyTorch vs ONNX fp32 vs int8 (speed, accuracy, memory) and the CI gate."""

from __future__ import annotations

from pathlib import Path

import click

from edgembed.cli.options import (
    CliState,
    api_key_option,
    pass_state,
    questions_option,
    threads_option,
)
from edgembed.cli.table import format_table
from edgembed.config import BENCH_SECTIONS, DEFAULT_ENGINE, ENGINES, BenchConfig
from edgembed.errors import BenchRegressionError

__all__ = ["bench"]


@click.command()
@click.argument("export_dir", type=click.Path(path_type=Path), required=False)
@click.option(
    "--model",
    default=None,
    help="PyTorch model to compare with (folder, bundled:all-MiniLM-L6-v2 or cached hub id). "
    "Default: the model the export was made from.",
)
@questions_option("JSONL of real questions (as for `edgembed evaluate`) for the accuracy section.")
@threads_option("Threads for every backend. Default: each library's own (one per physical core).")
@click.option(
    "--engine",
    "engines",
    type=click.Choice(ENGINES),
    multiple=True,
    default=(DEFAULT_ENGINE,),
    show_default=True,
    help="What runs the export (repeatable, all timed in the same rounds): onnxruntime its "
    "fp32 and int8 files, openvino its fp32 file (the backend named openvino; pip install "
    "'edgembed[openvino]').",
)
@click.option(
    "--quick",
    is_flag=True,
    help="CI mode: shapes 1x16 and 32x128 only, shorter repetition.",
)
@click.option(
    "--skip",
    type=click.Choice(BENCH_SECTIONS),
    multiple=True,
    help="Leave a section out (repeatable).",
)
@click.option(
    "--max-seconds",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Time bound of one shape's repetitions. Default: 25 (--quick) or 60.",
)
@click.option(
    "--http",
    "http_url",
    default=None,
    metavar="URL",
    help="Load-test a running `edgembed serve` on this machine (e.g. http://127.0.0.1:8001) "
    "at concurrency 1, 4 and 16.",
)
@click.option(
    "--serve",
    is_flag=True,
    help="Start `edgembed serve EXPORT_DIR` on a free 127.0.0.1 port for the HTTP section.",
)
@api_key_option("The server's API key, if it needs one (or set EDGEMBED_API_KEY).")
@click.option(
    "--check",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="BASELINE.json",
    help="Compare the figures with a baseline; exit 1 with a diff when one got worse than "
    "its tolerance. The committed one: edgembed/bench/baseline.json.",
)
@click.option(
    "--save-baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="PATH",
    help="Write this run's gated figures as a baseline file (review it before committing).",
)
@pass_state
def bench(
    state: CliState, /, export_dir: Path | None, skip: tuple[str, ...], **options: object
) -> None:
    """Measure an export against its PyTorch model: speed, accuracy, the server under load.

    EXPORT_DIR is a folder written by `edgembed export` (or its name under WORKSPACE/exports);
    default: the newest export. Three backends run side by side in one process: the PyTorch
    model (sentence-transformers; skipped with a note when torch is not installed), ONNX fp32
    and ONNX int8.

    \b
    - latency and tokens/s at 1x16, 1x128, 32x128 and 32x256 tokens (exact counts), p50/p95/
      p99, each backend's speed-up over PyTorch; backends are interleaved round by round and
      repeated until the medians settle, so a busy machine slows them all alike;
    - NDCG@10 and Accuracy@3 over the chunk corpus, on the eval pairs and --questions;
    - with --http URL or --serve: requests/s and latency at concurrency 1, 4 and 16 and what
      the server adds over the engine; --serve also its start-up time and resident memory.

    Writes WORKSPACE/reports/bench.json and bench.md and prints the tables.

    \b
    Examples:
      edgembed bench                                    # newest export, full run
      edgembed bench exports/minilm --questions sample_docs/questions.jsonl --serve
      edgembed bench --quick --check edgembed/bench/baseline.json     # the CI gate
    """
    from edgembed.bench.report import bench_tables
    from edgembed.bench.run import bench as run

    config = BenchConfig(export_dir=export_dir, skip=skip, **options)  # type: ignore[arg-type]
    outcome = run(config, state.workspace)
    if state.verbosity >= 0:
        for table in bench_tables(outcome.report):
            click.echo(f"\n{table.title}")
            click.echo(format_table(table.headers, table.rows))
        for note in outcome.report.notes:
            click.echo(f"note: {note}")
        if outcome.gate is not None:
            click.echo(f"\ngate against {outcome.gate.baseline}:\n{outcome.gate.diff()}")
        click.echo("wrote " + ", ".join(str(path) for path in outcome.paths))
    if outcome.gate is not None and not outcome.gate.passed:
        failures = "\n".join(row.line() for row in outcome.gate.failures)
        raise BenchRegressionError(
            f"the bench is worse than {outcome.gate.baseline} allows:\n{failures}\n"
            "If the change is intended, re-measure and update the baseline (--save-baseline)."
        )
