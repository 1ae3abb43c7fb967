"""Engines side by side on one export's ONNX files, in one interleaved run (#18 point 4).

PyTorch (sentence-transformers), onnxruntime on the int8 and fp32 files (edgembed's engine),
OpenVINO's own runtime on the fp32 file (bf16 and f32, LATENCY and THROUGHPUT hints) and, with
--ortov-python, onnxruntime's OpenVINO execution provider from a venv of its own (see
ortov_worker.py). For each: texts/s at 1x16 and 32x128 tokens with the ratio to PyTorch and to
onnxruntime int8 (medians of per-round paired ratios, `edgembed bench`'s machinery), the mean
and min cosine to PyTorch on the parity texts (20 one-to-three-word inputs, the built-in texts,
--questions), and batch invariance: every text alone against the same text batched 32 at a
time and a query beside other texts (min cosine). The load average is recorded per shape.

    nice -n 5 .venv/bin/python benchmarks/engines/compare.py WORKSPACE/exports/NAME \
        --questions sample_docs/questions.jsonl --ortov-python /tmp/ortov-venv/bin/python
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from edgembed.bench.backends import PYTORCH, Backend, load_backend  # noqa: E402
from edgembed.bench.inputs import Shape  # noqa: E402
from edgembed.bench.latency import measure_latency  # noqa: E402
from edgembed.bench.stats import StopRule, paired_ratios, percentile  # noqa: E402
from edgembed.errors import EdgembedError  # noqa: E402
from edgembed.evaluation.texts import BUILTIN_TEXTS, SHORT_TEXTS  # noqa: E402
from edgembed.runtime import OnnxEmbedder  # noqa: E402
from edgembed.runtime.openvino import OpenVinoSession, openvino_version  # noqa: E402

SHAPES = (Shape(1, 16), Shape(32, 128))
REFERENCE = "ort-int8"
QUERY = "How many PTO days carry over?"
BESIDE = (["Where is the parking lot?"], ["ok"], ["ok"] * 31)
OPENVINO = {
    "ov-bf16": {},  # the engine as `serve --engine openvino` runs it on this CPU
    "ov-bf16-throughput": {"PERFORMANCE_HINT": "THROUGHPUT"},
    "ov-f32": {"INFERENCE_PRECISION_HINT": "f32"},
}


def onnx_backend(
    name: str, export: Path, engine: str, properties: dict[str, str], variant: str = "fp32"
) -> Backend:
    """An OnnxEmbedder of `export` on `engine`; OpenVINO `properties` over the engine's own."""
    embedder = OnnxEmbedder(export, variant, engine=engine)
    if properties:
        path = export / embedder.manifest.model_file("fp32").path
        embedder._session = OpenVinoSession(path, None, properties)  # noqa: SLF001
    detail = f"{engine}, {embedder.variant} file, {embedder._session.precision}"  # noqa: SLF001

    def embed(texts: Sequence[str], batch_size: int = 32) -> Any:
        return embedder.embed(texts, batch_size)

    return Backend(name, embed, 0, detail)


class Worker:
    """An engine in another venv, called over a pipe (see ortov_worker.py)."""

    def __init__(self, python: str, export: Path, precision: str) -> None:
        script = Path(__file__).with_name("ortov_worker.py")
        self.process = subprocess.Popen(
            [python, str(script), str(export), precision],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.process.stdout is not None and self.process.stdin is not None
        self.stdin, self.stdout = self.process.stdin, self.process.stdout
        self.detail = str(pickle.load(self.stdout))

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> Any:
        pickle.dump((list(texts), batch_size), self.stdin)
        self.stdin.flush()
        return pickle.load(self.stdout)

    def close(self) -> None:
        self.stdin.close()
        self.process.wait(timeout=30)


def load_backends(export: Path, ortov_python: str | None) -> tuple[list[Backend], list[str]]:
    backends = [load_backend(PYTORCH, export, None, None)]
    backends.append(onnx_backend(REFERENCE, export, "onnxruntime", {}, variant="int8"))
    backends.append(onnx_backend("ort-fp32", export, "onnxruntime", {}))
    notes = [f"openvino {openvino_version()}"]
    for name, properties in OPENVINO.items():
        backends.append(onnx_backend(name, export, "openvino", properties))
    try:
        OpenVinoSession(export / "model.int8.onnx")
    except EdgembedError as exc:
        why = [line for line in str(exc).splitlines() if "No conversion rule" in line]
        notes.append(f"OpenVINO on the int8 file: {(why or [str(exc)])[0][:300]}")
    for precision in ("bf16", "f32") if ortov_python else ():
        worker = Worker(ortov_python, export, precision)
        backends.append(Backend(f"ortov-{precision}", worker.embed, 0, worker.detail))
        notes.append(f"ortov-{precision}: the pipe alone costs {pipe_cost(worker):.0f} us a call")
    return backends, notes


def pipe_cost(worker: Worker, calls: int = 200) -> float:
    """Median microseconds of an empty round trip to the worker (included in its timings)."""
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        worker.embed([])
        times.append(time.perf_counter() - started)
    return percentile(times, 50) * 1e6


def accuracy(backends: list[Backend], questions: list[str]) -> dict[str, dict[str, float]]:
    """Cosine to PyTorch (all, short inputs) and batch invariance, per backend."""
    texts = [*SHORT_TEXTS, *BUILTIN_TEXTS, *questions]
    short = len(SHORT_TEXTS)
    vectors = {b.name: np.asarray(b.embed(texts)) for b in backends}
    reference = vectors[PYTORCH]
    figures = {}
    for backend in backends:
        cosine = (vectors[backend.name] * reference).sum(axis=1)
        alone = np.concatenate([np.asarray(backend.embed([text])) for text in texts])
        query = np.asarray(backend.embed([QUERY]))[0]
        beside = [np.asarray(backend.embed([QUERY, *others]))[0] @ query for others in BESIDE]
        figures[backend.name] = {
            "cos_mean": float(cosine.mean()),
            "cos_min": float(cosine.min()),
            "cos_short_mean": float(cosine[:short].mean()),
            "alone_vs_batch_min": float((alone * vectors[backend.name]).sum(axis=1).min()),
            "query_beside_min": float(min(beside)),
        }
    return figures


def speed(
    backends: list[Backend], rule: StopRule, export: Path, reference: str = REFERENCE
) -> list[dict[str, Any]]:
    """Each shape timed in interleaved rounds; ratios to PyTorch and to `reference`."""
    embedder = OnnxEmbedder(export, "fp32")  # its tokenizer builds the exact-length texts
    rows = []
    for shape in SHAPES:
        load = os.getloadavg()
        [result], _ = measure_latency(
            backends,
            lambda texts: embedder.tokenize(texts, truncate=False),
            [shape],
            rule,
            embedder.max_seq_length,
        )
        medians = result.run.round_medians
        row: dict[str, Any] = {"shape": shape.label, "load_before": load, **result.to_json()}
        row["load_after"] = os.getloadavg()
        row["reference"] = reference
        row["vs_reference"] = {
            name: round(percentile(paired_ratios(medians[reference], medians[name]), 50), 3)
            for name in medians
        }
        rows.append(row)
    return rows


def table(speeds: list[dict[str, Any]], figures: dict[str, dict[str, float]]) -> str:
    """A markdown table: speed per shape, then the accuracy figures, one row per backend."""
    head = ["backend"]
    for row in speeds:
        head += [f"{row['shape']} texts/s", "vs torch", f"vs {row['reference']}"]
    head += ["cos mean", "cos min", "short mean", "alone/batch min", "beside min"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, acc in figures.items():
        cells = [name]
        for row in speeds:
            figures_row = row["backends"][name]
            batch = int(row["shape"].split("x")[0])
            cells.append(f"{batch / (figures_row['p50_ms'] / 1000):.1f}")
            ratio = figures_row["speedup_vs_pytorch"]
            cells.append(f"{ratio:.2f}x" if ratio else "1x")
            cells.append(f"{row['vs_reference'][name]:.2f}x")
        cells += [f"{acc[key]:.5f}" for key in acc]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def read_questions(path: Path | None) -> list[str]:
    if path is None:
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


def print_load(speeds: list[dict[str, Any]]) -> None:
    for row in speeds:
        print(
            f"{row['shape']}: load {row['load_before']} -> {row['load_after']}, "
            f"{row['rounds']} rounds, settled {row['settled']}"
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("export", type=Path)
    parser.add_argument("--questions", type=Path, default=None)
    parser.add_argument(
        "--ortov-python", default=None, help="python of a venv with onnxruntime-openvino"
    )
    parser.add_argument("--max-seconds", type=float, default=60.0, help="per shape")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/engines.json")
    args = parser.parse_args(argv)
    questions = read_questions(args.questions)
    backends, notes = load_backends(args.export, args.ortov_python)
    rule = StopRule(warmup=3, min_rounds=15, max_rounds=200, max_seconds=args.max_seconds)
    speeds = speed(backends, rule, args.export)
    figures = accuracy(backends, questions)
    result = {
        "export": str(args.export),
        "backends": {b.name: b.detail for b in backends},
        "notes": notes,
        "speed": speeds,
        "accuracy": figures,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(result) + "\n")
    print(table(speeds, figures))
    print_load(speeds)
    print("\n".join(notes))


if __name__ == "__main__":
    main()
