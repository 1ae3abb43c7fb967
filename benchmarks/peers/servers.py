"""`edgembed serve` beside infinity-emb, the servers taking turns on the same 2 cores.

The same bundled all-MiniLM-L6-v2: edgembed's export (int8, onnxruntime) and infinity-emb
(its optimum engine on sentence-transformers' avx512_vnni int8 file, and its torch engine)
from the folder make_model.py wrote, run from a venv of its own. All servers start first and
idle; then, for some rounds, each workload runs against each server in turn (rotating order):
single 12-word queries at concurrency 1 and 16, and requests of 32 documents of 128 tokens.
The ratios are edgembed's over each peer's, per round; the table shows their medians. Each
server's vectors are scored against PyTorch on the parity texts, and a query alone against
the same query beside 31 other texts in one request. Nothing is downloaded.

    nice -n 5 .venv/bin/python benchmarks/peers/servers.py WORKSPACE/exports/NAME \
        /tmp/peers/minilm --infinity /tmp/peers-venv/bin/infinity_emb
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks" / "engines"))

import compare  # noqa: E402

from edgembed.bench.backends import PYTORCH, load_backend  # noqa: E402
from edgembed.bench.http import local_server  # noqa: E402
from edgembed.bench.inputs import exact_texts  # noqa: E402
from edgembed.bench.load import run_load  # noqa: E402
from edgembed.evaluation.texts import BUILTIN_TEXTS, SHORT_TEXTS  # noqa: E402
from edgembed.runtime import OnnxEmbedder  # noqa: E402

MODEL = "minilm"
EDGEMBED = "edgembed"
QUERY = "How many PTO days carry over?"
_OFFLINE = {"HF_HUB_OFFLINE": "1", "DO_NOT_TRACK": "1", "INFINITY_ANONYMOUS_USAGE_STATS": "0"}


def _post(url: str, texts: Sequence[str]) -> np.ndarray:
    body = json.dumps({"model": MODEL, "input": list(texts)}).encode()
    request = urllib.request.Request(
        f"{url}/v1/embeddings", body, {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        data = json.load(response)["data"]
    data = sorted(data, key=lambda item: item["index"])  # the API does not promise the order
    vectors = np.asarray([item["embedding"] for item in data], dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _wait(url: str, process: subprocess.Popen[bytes], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server at {url} exited with {process.returncode}")
        with contextlib.suppress(OSError):
            _post(url, ["ready?"])
            return
        time.sleep(0.5)
    raise SystemExit(f"{url} was not ready after {timeout}s")


@contextlib.contextmanager
def infinity(binary: str, folder: Path, engine: str, port: int) -> Iterator[str]:
    """infinity_emb v2 on the folder, started from inside it (see make_model.py)."""
    command = [binary, "v2", "--model-id", ".", "--served-model-name", MODEL, "--engine", engine]
    command += ["--device", "cpu", "--port", str(port), "--url-prefix", "/v1"]
    command += ["--log-level", "warning", "--no-model-warmup"]
    # Left to itself (auto) infinity 0.0.78 pools this folder's optimum model by its CLS token:
    # mean cosine 0.45 to sentence-transformers. MiniLM is mean-pooled.
    command += ["--pooling-method", "mean"]
    log = open(f"/tmp/infinity-{engine}.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        command, cwd=folder, env={**os.environ, **_OFFLINE}, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def workloads(export: Path) -> dict[str, tuple[int, list[bytes], int]]:
    """name -> (concurrency, request bodies, texts per request)."""
    questions = compare.read_questions(ROOT / "sample_docs" / "questions.jsonl")
    words = " ".join(questions).replace("?", "").split()
    queries = [" ".join(words[i : i + 12]) for i in range(0, len(words) - 12, 7)]
    embedder = OnnxEmbedder(export, "fp32")
    docs = exact_texts(lambda t: embedder.tokenize(t, truncate=False), 128, 32 * 8)
    single = [json.dumps({"model": MODEL, "input": q}).encode() for q in queries]
    batches = [
        json.dumps({"model": MODEL, "input": docs[i : i + 32]}).encode()
        for i in range(0, len(docs), 32)
    ]
    return {
        "query c1": (1, single, 1),
        "query c16": (16, single, 1),
        "32 docs c1": (1, batches, 32),
    }


def accuracy(urls: dict[str, str], export: Path) -> dict[str, dict[str, float]]:
    texts = [
        *SHORT_TEXTS,
        *BUILTIN_TEXTS,
        *compare.read_questions(ROOT / "sample_docs/questions.jsonl"),
    ]
    reference = np.asarray(load_backend(PYTORCH, export, None, None).embed(texts))
    figures = {}
    for name, url in urls.items():
        vectors = np.concatenate([_post(url, texts[i : i + 32]) for i in range(0, len(texts), 32)])
        cosine = (vectors * reference).sum(axis=1)
        alone = _post(url, [QUERY])[0]
        beside = _post(url, [QUERY, *["ok"] * 31])[0]
        figures[name] = {
            "cos_mean": float(cosine.mean()),
            "cos_min": float(cosine.min()),
            "cos_short_mean": float(cosine[: len(SHORT_TEXTS)].mean()),
            "query_beside_31": float(alone @ beside),
        }
    return figures


def take_turns(urls: dict[str, str], loads: dict[str, Any], rounds: int, seconds: float) -> Any:
    results: dict[str, dict[str, list[dict[str, Any]]]] = {w: {n: [] for n in urls} for w in loads}
    names = list(urls)
    for round_ in range(rounds):
        for workload, (concurrency, bodies, _) in loads.items():
            shift = round_ % len(names)
            for name in names[shift:] + names[:shift]:
                run = run_load(urls[name], concurrency, 10**9, [], seconds, bodies=bodies)
                run["load"] = os.getloadavg()[0]
                results[workload][name].append(run)
    return results


def summary(results: Any, loads: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for workload, by_server in results.items():
        per_request = loads[workload][2]
        for name, runs in by_server.items():
            ratios = [
                mine["req_per_s"] / theirs["req_per_s"]
                for mine, theirs in zip(by_server[EDGEMBED], runs, strict=True)
            ]
            rows.append(
                {
                    "workload": workload,
                    "server": name,
                    "texts_per_s": float(np.median([r["req_per_s"] for r in runs])) * per_request,
                    "p50_ms": float(np.median([r["latency_ms"]["p50"] for r in runs])),
                    "p99_ms": float(np.median([r["latency_ms"]["p99"] for r in runs])),
                    "edgembed_over_this": float(np.median(ratios)),
                    "ratios": [round(r, 3) for r in ratios],
                    "errors": sum(r["completed"] - r["status"].get(200, 0) for r in runs),
                    "load": [round(r["load"], 2) for r in runs],
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("export", type=Path)
    parser.add_argument("peer_model", type=Path, help="the folder make_model.py wrote")
    parser.add_argument("--infinity", required=True, help="the infinity_emb executable")
    parser.add_argument("--engines", nargs="+", default=["optimum", "torch"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0, help="per workload and server")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/peers.jsonl")
    args = parser.parse_args()
    loads = workloads(args.export)
    with contextlib.ExitStack() as stack:
        # Both servers answer to MODEL, whatever the export is called.
        served = local_server(args.export, "int8", None, ["--model-name", MODEL])
        urls = {EDGEMBED: stack.enter_context(served).url}
        for offset, engine in enumerate(args.engines):
            port = 8391 + offset
            urls[f"infinity-{engine}"] = stack.enter_context(
                infinity(args.infinity, args.peer_model, engine, port)
            )
        figures = accuracy(urls, args.export)
        rows = summary(take_turns(urls, loads, args.rounds, args.seconds), loads)
    result = {"servers": list(urls), "rows": rows, "accuracy": figures}
    print_tables(rows, figures)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(result) + "\n")
    print(f"appended to {args.out}")


def print_tables(rows: list[dict[str, Any]], figures: dict[str, Any]) -> None:
    """The throughput and accuracy tables, as Markdown (printed before anything is written, so
    a run's figures are never lost to a file error)."""
    print("| workload | server | texts/s | p50 ms | p99 ms | edgembed / this | load |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['workload']} | {row['server']} | {row['texts_per_s']:.0f} | "
            f"{row['p50_ms']:.1f} | {row['p99_ms']:.1f} | {row['edgembed_over_this']:.2f}x "
            f"{row['ratios']} | {row['load']} |"
        )
    print("| server | cos mean | cos min | short mean | query beside 31 |")
    print("|---|---|---|---|---|")
    for name, acc in figures.items():
        print(f"| {name} | " + " | ".join(f"{value:.5f}" for value in acc.values()) + " |")


if __name__ == "__main__":
    main()
