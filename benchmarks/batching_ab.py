"""How much does the server's batching gain at concurrency 16?

Starts `edgembed serve EXPORT_DIR` twice on free 127.0.0.1 ports, once as shipped and once
with batching off (``--max-batch-tokens 1``: every request its own model call), and lets the
two take turns at one concurrency for a few rounds, so both see the same machine. The gain is
the median of the rounds' batched / unbatched requests/s. Beside it, what batching can give at
most: the engine alone, in this process, on one text against a batch of 16 of them.

    .venv/bin/python benchmarks/batching_ab.py --export WORKSPACE/exports/NAME [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edgembed.bench.http import local_server  # noqa: E402
from edgembed.bench.load import run_load  # noqa: E402
from edgembed.bench.stats import StopRule, percentile, run_interleaved  # noqa: E402
from edgembed.progress import progress  # noqa: E402

__all__ = ["compare_unbatched", "engine_batch_gain", "main"]

BATCH_OF = 16
_WARMUP_REQUESTS = 20


def _load(url: str, level: int, requests: int, text: str, seconds: float) -> dict[str, Any]:
    result = run_load(url, level, requests, [text], seconds)
    if not result["status"].get(200):
        raise SystemExit(f"{url} answered no request with 200 (statuses: {result['status']})")
    return result


def compare_unbatched(
    batched_url: str,
    unbatched_url: str,
    text: str,
    *,
    level: int,
    requests: int,
    seconds: float,
    rounds: int,
) -> dict[str, Any]:
    """Alternate rounds of `requests` one-text requests at concurrency `level` between the
    batched server and the unbatched one.

    Returns:
        each round's batched and unbatched requests/s, their ratios and the median ratio.
    """
    for url in (batched_url, unbatched_url):
        _load(url, level, _WARMUP_REQUESTS, text, seconds)
    batched: list[float] = []
    unbatched: list[float] = []
    for _ in progress(range(rounds), desc="batched vs unbatched", unit="round"):
        batched.append(float(_load(batched_url, level, requests, text, seconds)["req_per_s"]))
        unbatched.append(float(_load(unbatched_url, level, requests, text, seconds)["req_per_s"]))
    gains = [b / u for b, u in zip(batched, unbatched, strict=True) if u > 0]
    return {
        "concurrency": level,
        "batched_req_per_s": batched,
        "unbatched_req_per_s": unbatched,
        "gain_rounds": [round(gain, 3) for gain in gains],
        "gain": round(percentile(gains, 50), 3) if gains else None,
    }


def engine_batch_gain(one: Callable[[], object], batch: Callable[[], object]) -> float:
    """The engine's time for one text over its time per text in a batch of BATCH_OF texts."""
    rule = StopRule(warmup=3, min_rounds=4, max_rounds=8, block_seconds=0.3)
    times = run_interleaved({"one": one, "batch": batch}, rule).times
    return percentile(times["one"], 50) / (percentile(times["batch"], 50) / BATCH_OF)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--export", type=Path, required=True, help="an export folder")
    parser.add_argument("--variant", default="int8", help="the variant both servers serve")
    parser.add_argument("--threads", type=int, default=None, help="default: physical cores")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=1000, help="per server per round")
    parser.add_argument("--seconds", type=float, default=30.0, help="bound of one load run")
    parser.add_argument("--json", type=Path, default=None, help="write every figure here")
    args = parser.parse_args()

    from edgembed.bench.inputs import exact_texts
    from edgembed.runtime import OnnxEmbedder

    engine = OnnxEmbedder(args.export, args.variant, threads=args.threads)
    text = exact_texts(lambda texts: engine.tokenize(texts, truncate=False), 16, 1)[0]
    with (
        local_server(args.export, args.variant, args.threads) as server,
        local_server(args.export, args.variant, args.threads, ["--max-batch-tokens", "1"]) as off,
    ):
        figures = compare_unbatched(
            server.url,
            off.url,
            text,
            level=args.concurrency,
            requests=args.requests,
            seconds=args.seconds,
            rounds=args.rounds,
        )
    figures["engine_batch_gain"] = round(
        engine_batch_gain(lambda: engine.embed([text]), lambda: engine.embed([text] * BATCH_OF)),
        3,
    )
    rounds = ", ".join(f"{gain:.2f}" for gain in figures["gain_rounds"])
    print(
        f"batching gain at concurrency {args.concurrency}: {figures['gain']:.2f}x "
        f"(rounds: {rounds}); the engine alone gains {figures['engine_batch_gain']:.2f}x "
        f"at batch {BATCH_OF}"
    )
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
