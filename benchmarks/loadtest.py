"""How much does the HTTP server add to the engine's own time, at a given concurrency?

Drives a running `edgembed serve` with edgembed bench's load generator (raw keep-alive
HTTP/1.1) and, with --engine, times the raw OnnxEmbedder on the same text in this process.

    .venv/bin/python benchmarks/loadtest.py http://127.0.0.1:8001 --concurrency 16 --requests 2000
    .venv/bin/python benchmarks/loadtest.py http://127.0.0.1:8001 --concurrency 1 --engine EXPORT
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edgembed.bench.load import percentiles, run_load  # noqa: E402


def engine_latency(export_dir: str, text: str, calls: int, variant: str = "int8") -> float:
    """Median milliseconds of one raw OnnxEmbedder.embed([text]) call, the HTTP baseline."""
    from edgembed.runtime import OnnxEmbedder

    engine = OnnxEmbedder(export_dir, variant=variant)
    for _ in range(20):
        engine.embed([text])
    times = []
    for _ in range(calls):
        begin = time.perf_counter()
        engine.embed([text])
        times.append(time.perf_counter() - begin)
    return percentiles(times)["p50"]


def main() -> None:
    parser = argparse.ArgumentParser(description="Load-test an edgembed server.")
    parser.add_argument("url", help="base URL, e.g. http://127.0.0.1:8001")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--text", default="how do I reset the password of my account today")
    parser.add_argument("--encoding-format", default="base64", choices=["float", "base64"])
    parser.add_argument(
        "--engine", metavar="EXPORT_DIR", help="also time the raw engine on the same text"
    )
    args = parser.parse_args()
    result = run_load(
        args.url,
        args.concurrency,
        args.requests,
        [args.text],
        args.seconds,
        encoding_format=args.encoding_format,
    )
    if args.engine:
        result["engine_p50_ms"] = engine_latency(args.engine, args.text, args.requests)
        result["added_p50_ms"] = round(result["latency_ms"]["p50"] - result["engine_p50_ms"], 3)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
