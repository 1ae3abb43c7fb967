"""Where does a document batch's time go between the engine and `edgembed serve`?

Two parts, for requests of 32 documents of 128 tokens (what a RAG backend sends when it
indexes):

1. In process, each step the server takes, timed alone (medians): parsing the request body,
   tokenizing, the engine as the batcher calls it (the request cut into pieces of
   `PIECE_TOKENS`, each cut into calls of `CALL_TOKENS`) and as one `embed_ids`, and encoding
   the response (float lists and base64).
2. Over HTTP, servers taking turns at concurrency 1: `edgembed serve` as it is, and variants
   made by monkeypatching the server process before it starts (the server's code is not
   changed): one piece per request, no lanes, no release of the engine's memory after each
   request cut into pieces, and base64 responses. Each variant's requests
   per second over the plain server's, per round (median and the rounds).

    .venv/bin/python benchmarks/server_path.py WORKSPACE/exports/NAME [--rounds 3]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edgembed.bench.inputs import exact_texts  # noqa: E402
from edgembed.bench.load import run_load  # noqa: E402
from edgembed.runtime import OnnxEmbedder  # noqa: E402

MODEL = "minilm"
DOCS, TOKENS = 32, 128

# Applied in the server process before `edgembed serve` starts (see `_launcher`).
PATCHES = {
    "as it is": "",
    "one piece a request": "import edgembed.server.batcher as b; b.PIECE_TOKENS = 1 << 20",
    "no lanes": "import edgembed.runtime.onnx_model as m; m.physical_cores = lambda: 1",
    # The batcher hands the engine's memory back after every request cut into pieces.
    "no memory release": (
        "import edgembed.server.batcher as b; b.EmbeddingBatcher._release_if_idle = "
        "lambda self: None"
    ),
}


def _median_ms(call: Callable[[], object], repeats: int) -> float:
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1e3)


def in_process(export: Path, repeats: int) -> dict[str, float]:
    """Each step of a 32-document request, timed alone in this process (2 threads)."""
    import msgspec

    from edgembed.server.batcher import PIECE_TOKENS
    from edgembed.server.responses import openai_response

    engine = OnnxEmbedder(export, "int8")
    texts = exact_texts(lambda t: engine.tokenize(t, truncate=False), TOKENS, DOCS)
    body = json.dumps({"model": MODEL, "input": texts}).encode()
    ids = engine.tokenize(texts)
    pieces = [ids[i : i + PIECE_TOKENS // TOKENS] for i in range(0, DOCS, PIECE_TOKENS // TOKENS)]
    vectors = engine.embed_ids(ids)

    def released() -> None:
        engine.release_memory()
        engine.embed_ids(ids)

    def encode(fmt: str) -> Callable[[], object]:
        return lambda: msgspec.json.encode(
            openai_response(vectors, model=MODEL, tokens=DOCS * TOKENS, encoding_format=fmt)
        )

    return {
        "parse request (msgspec)": _median_ms(lambda: msgspec.json.decode(body), repeats),
        "tokenize": _median_ms(lambda: engine.tokenize(texts), repeats),
        "engine, one embed_ids": _median_ms(lambda: engine.embed_ids(ids), repeats),
        f"engine, {len(pieces)} pieces": _median_ms(
            lambda: [engine.embed_ids(p, len(p)) for p in pieces], repeats
        ),
        "release_memory + a batch": _median_ms(released, repeats),
        "release_memory": _median_ms(engine.release_memory, repeats),
        "response, float lists": _median_ms(encode("float"), repeats),
        "response, base64": _median_ms(encode("base64"), repeats),
    }


def _launcher(patch: str) -> str:
    return f"{patch}\nfrom edgembed.cli.main import main\nmain()"


@contextlib.contextmanager
def server(export: Path, patch: str, port: int) -> Iterator[str]:
    command = [sys.executable, "-c", _launcher(patch), "-q", "serve", str(export)]
    command += ["--port", str(port), "--variant", "int8"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{url}/ready", timeout=2) as response:
                    if response.status == 200:
                        break
            time.sleep(0.3)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def over_http(export: Path, rounds: int, seconds: float) -> list[dict[str, Any]]:
    engine = OnnxEmbedder(export, "fp32", threads=1)
    docs = exact_texts(lambda t: engine.tokenize(t, truncate=False), TOKENS, DOCS * 8)
    bodies = {
        fmt: [
            json.dumps(
                {"model": MODEL, "input": docs[i : i + DOCS], "encoding_format": fmt}
            ).encode()
            for i in range(0, len(docs), DOCS)
        ]
        for fmt in ("float", "base64")
    }
    runs: dict[str, list[float]] = {}
    with contextlib.ExitStack() as stack:
        urls = {
            name: stack.enter_context(server(export, patch, 8451 + i))
            for i, (name, patch) in enumerate(PATCHES.items())
        }
        loads = {name: (url, bodies["float"]) for name, url in urls.items()}
        loads["base64 responses"] = (urls["as it is"], bodies["base64"])
        names = list(loads)
        for round_ in range(rounds):
            shift = round_ % len(names)
            for name in names[shift:] + names[:shift]:
                url, requests = loads[name]
                run = run_load(url, 1, 10**9, [], seconds, model=MODEL, bodies=requests)
                runs.setdefault(name, []).append(run["req_per_s"] * DOCS)
    rows = []
    for name, texts_per_s in runs.items():
        ratios = [mine / base for mine, base in zip(texts_per_s, runs["as it is"], strict=True)]
        rows.append(
            {
                "variant": name,
                "texts_per_s": float(np.median(texts_per_s)),
                "ms_per_request": float(DOCS * 1e3 / np.median(texts_per_s)),
                "over_as_it_is": float(np.median(ratios)),
                "rounds": [round(r, 3) for r in ratios],
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("export", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0, help="per variant and round")
    parser.add_argument("--repeats", type=int, default=15, help="in-process timings")
    args = parser.parse_args()
    steps = in_process(args.export, args.repeats)
    load = os.getloadavg()[0]
    print(f"in process, {DOCS} documents of {TOKENS} tokens (median ms; load {load:.1f}):")
    for step, ms in steps.items():
        print(f"  {step:28s} {ms:8.1f}")
    rows = over_http(args.export, args.rounds, args.seconds)
    print(f"over HTTP, concurrency 1 (load {os.getloadavg()[0]:.1f}):")
    print("| variant | texts/s | ms per request | over as it is (rounds) |")
    print("|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['variant']} | {row['texts_per_s']:.0f} | {row['ms_per_request']:.0f} | "
            f"{row['over_as_it_is']:.2f}x {row['rounds']} |"
        )


if __name__ == "__main__":
    main()
