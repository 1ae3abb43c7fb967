"""How much does edgembed's server (batching on and off) gain over a naive Litestar route?

The serve issue's reference point is "a naive Litestar route": a sync handler that calls the
engine once per request (Litestar runs it on its worker threads) and returns OpenAI-shaped
JSON. This starts that route, `edgembed serve EXPORT_DIR` and the same server with batching off
side by side on 127.0.0.1, then alternates rounds of one-text requests at concurrency 1 and 16
between them (edgembed's own load generator), with the engine alone (sixteen texts per call)
measured in the same rounds: what a server that cost nothing could reach.

    .venv/bin/python benchmarks/naive_route.py WORKSPACE/exports/NAME [--rounds 3] [--requests 1000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any


def naive_app() -> Any:
    """The naive route (imported by uvicorn as benchmarks.naive_route:naive_app, factory mode)."""
    from litestar import Litestar, post

    from edgembed.runtime.embedder import OnnxEmbedder

    embedder = OnnxEmbedder(os.environ["NAIVE_EXPORT"])

    @post("/v1/embeddings", sync_to_thread=True, status_code=200)
    def embeddings(data: dict[str, Any]) -> dict[str, Any]:
        texts = data["input"] if isinstance(data["input"], list) else [data["input"]]
        vectors = embedder.embed(texts)
        rows = [
            {"object": "embedding", "index": i, "embedding": v.tolist()}
            for i, v in enumerate(vectors)
        ]
        return {"object": "list", "model": data.get("model"), "data": rows, "usage": {}}

    return Litestar([embeddings])


def _wait(url: str) -> None:
    for _ in range(600):
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:  # up and answering (the naive app has no /ready)
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"{url} did not come up")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("export", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()

    from edgembed.bench.inputs import exact_texts
    from edgembed.bench.load import run_load
    from edgembed.runtime.embedder import OnnxEmbedder

    engine = OnnxEmbedder(args.export)
    text = exact_texts(engine.tokenize, 16, 1)[0]
    model = engine.model_name
    bin_dir = Path(sys.executable).parent
    serve = [str(bin_dir / "edgembed"), "-q", "serve", str(args.export), "--port"]
    ports = {"edgembed": 18961, "edgembed, batching off": 18962, "naive route": 18963}
    naive = [str(bin_dir / "uvicorn"), "--factory", "benchmarks.naive_route:naive_app"]
    naive += ["--app-dir", str(Path(__file__).resolve().parents[1])]
    naive += ["--port", "18963", "--log-level", "warning", "--no-access-log"]
    commands = [[*serve, "18961"], [*serve, "18962", "--max-batch-tokens", "1"], naive]
    env = dict(os.environ, NAIVE_EXPORT=str(args.export.resolve()))
    processes = [
        subprocess.Popen(c, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for c in commands
    ]
    try:
        for port in ports.values():
            _wait(f"http://127.0.0.1:{port}/ready")
            run_load(f"http://127.0.0.1:{port}", 16, 300, [text], 30, model=model)

        def engine_alone(seconds: float = 2.0) -> float:
            done, started = 0, time.perf_counter()
            while time.perf_counter() - started < seconds:
                engine.embed([text] * 16)
                done += 16
            return done / (time.perf_counter() - started)

        rates: dict[str, list[float]] = {}
        for _ in range(args.rounds):
            rates.setdefault("engine alone, 16 texts per call", []).append(engine_alone())
            for level in (1, 16):
                for name, port in ports.items():
                    url = f"http://127.0.0.1:{port}"
                    result = run_load(url, level, args.requests, [text], 60, model=model)
                    if result["status"].get(200) != args.requests:
                        raise SystemExit(f"{name}: statuses {result['status']}")
                    rates.setdefault(f"{name}, concurrency {level}", []).append(
                        float(result["req_per_s"])
                    )
        for name, values in rates.items():
            runs = ", ".join(f"{v:.0f}" for v in values)
            print(f"{name:40s} {statistics.median(values):7.0f} /s   ({runs})")
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait()


if __name__ == "__main__":
    main()
