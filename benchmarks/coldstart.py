"""How long does each backend take from a fresh process to its first embedding, and how much
memory does it hold?

Starts a fresh process per backend, `--runs` times interleaved, and takes the medians. The
child is this script run with --child: it imports only what its backend needs (the ONNX
backends never import torch), embeds one query, reports, then embeds a 32 x 128 batch and
reports its peak resident memory.

    .venv/bin/python benchmarks/coldstart.py --export WORKSPACE/exports/NAME [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edgembed.bench.stats import percentile  # noqa: E402
from edgembed.errors import ModelError  # noqa: E402
from edgembed.progress import progress  # noqa: E402

__all__ = ["ColdStart", "main", "measure_cold_start"]

_QUERY = "How many vacation days do new employees get?"
_TIMEOUT_S = 300


@dataclass(frozen=True)
class ColdStart:
    """One backend's start-up, over `runs` fresh processes (medians)."""

    backend: str
    runs: int
    seconds_to_first: float
    import_and_load_s: float
    rss_first_mb: float
    peak_rss_mb: float
    torch_loaded: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "seconds_to_first_embedding": round(self.seconds_to_first, 3),
            "import_and_load_s": round(self.import_and_load_s, 3),
            "rss_after_first_mb": round(self.rss_first_mb, 1),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "torch_loaded": self.torch_loaded,
        }


def measure_cold_start(
    backends: Sequence[str],
    export_dir: Path,
    model: str | None,
    threads: int | None,
    runs: int,
    batch: Sequence[str],
) -> list[ColdStart]:
    """Start `runs` fresh processes per backend, interleaved, and take the medians.

    Args:
        batch: the texts each process embeds after its first query (for peak memory).

    Raises:
        ModelError: a child process failed or hung (its error output is in the message).
    """
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name in backends}
    for _ in progress(range(runs), desc="cold start", unit="round"):
        for name in backends:
            samples[name].append(_one_process(name, export_dir, model, threads, batch))
    return [_median(name, rows) for name, rows in samples.items()]


def _one_process(
    backend: str, export_dir: Path, model: str | None, threads: int | None, batch: Sequence[str]
) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", "--export", str(export_dir)]
    command += ["--backend", backend, *(["--model", model] if model else [])]
    command += ["--threads", str(threads)] if threads else []
    started = time.time()
    try:
        done = subprocess.run(
            command,
            input=json.dumps(list(batch)),
            capture_output=True,
            text=True,
            timeout=_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ModelError(f"the {backend} cold-start process took over {_TIMEOUT_S}s") from exc
    if done.returncode != 0:
        raise ModelError(
            f"the {backend} cold-start process failed (exit {done.returncode}): "
            f"{done.stderr.strip()[-2000:]}"
        )
    row: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    row["seconds_to_first"] = row["first_at"] - started
    return row


def _median(backend: str, rows: list[dict[str, Any]]) -> ColdStart:
    def mid(key: str) -> float:
        return percentile([float(row[key]) for row in rows], 50)

    return ColdStart(
        backend=backend,
        runs=len(rows),
        seconds_to_first=mid("seconds_to_first"),
        import_and_load_s=mid("load_s"),
        rss_first_mb=mid("rss_first_mb"),
        peak_rss_mb=mid("peak_rss_mb"),
        torch_loaded=any(row["torch_loaded"] for row in rows),
    )


def _memory_mb(field: str) -> float:
    """VmRSS (resident now) or VmHWM (peak resident) of this process, from /proc.

    Not getrusage's ru_maxrss: Linux carries it over from the parent across fork and exec,
    so a child of the bench (which holds PyTorch) would report the parent's peak.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _child(export_dir: Path, backend_name: str, model: str | None, threads: int | None) -> None:
    """Load one backend, embed a query, then the batch read from stdin; print one JSON line."""
    began = time.perf_counter()
    from edgembed.bench.backends import load_backend

    batch = json.loads(sys.stdin.read())
    backend = load_backend(backend_name, export_dir, model, threads)
    loaded = time.perf_counter()
    backend.embed([_QUERY])
    first_at = time.time()
    rss_first = _memory_mb("VmRSS")
    backend.embed(batch)
    report = {
        "first_at": first_at,
        "load_s": loaded - began,
        "rss_first_mb": rss_first,
        "peak_rss_mb": _memory_mb("VmHWM"),
        "torch_loaded": "torch" in sys.modules,
    }
    print(json.dumps(report), flush=True)


def _batch(export_dir: Path) -> list[str]:
    """32 texts of 128 tokens (or of the model's limit when shorter), for the peak memory."""
    from edgembed.bench.inputs import exact_texts
    from edgembed.runtime import OnnxEmbedder

    engine = OnnxEmbedder(export_dir, "fp32")
    tokens = min(128, engine.manifest.max_seq_length)
    return exact_texts(lambda texts: engine.tokenize(texts, truncate=False), tokens, 32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--export", type=Path, required=True, help="an export folder")
    parser.add_argument(
        "--backend",
        action="append",
        choices=("pytorch", "fp32", "int8", "openvino"),
        help="repeatable; default: pytorch, fp32 and int8",
    )
    parser.add_argument("--model", help="the PyTorch model (default: the export's source)")
    parser.add_argument("--threads", type=int, default=None, help="default: physical cores")
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per backend")
    parser.add_argument("--json", type=Path, default=None, help="write every figure here")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    backends = args.backend or ["pytorch", "fp32", "int8"]
    if args.child:
        _child(args.export, backends[0], args.model, args.threads)
        return

    from edgembed.cli.table import format_table

    batch = _batch(args.export)
    results = measure_cold_start(backends, args.export, args.model, args.threads, args.runs, batch)
    figures = {cold.backend: cold.to_json() for cold in results}
    columns = next(iter(figures.values())).keys()
    rows = [[name, *(row[column] for column in columns)] for name, row in figures.items()]
    print(f"Cold start and memory (fresh process, median of {args.runs})")
    print(format_table(("backend", *columns), rows))
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
