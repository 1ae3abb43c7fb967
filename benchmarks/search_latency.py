"""How long the playground waits for an answer: POST /v1/search against a running server.

    edgembed serve EXPORT --corpus WORKSPACE [--compare EXPORT2] &
    python benchmarks/search_latency.py http://127.0.0.1:8001 WORKSPACE/pairs.eval.jsonl

Sends each question of the pairs file once, one at a time (as a person at the page does),
after waiting for the corpus to be indexed, and prints the round-trip percentiles and how
often the ranking's first passage is the question's own.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any


def _call(url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        answer: dict[str, Any] = json.load(response)
        return answer


def main(base: str, pairs: Path, limit: int = 100) -> None:
    while not _call(f"{base}/v1/playground")["indexed"]:
        time.sleep(0.5)
    rows = [json.loads(line) for line in pairs.read_text().splitlines()][:limit]
    _call(f"{base}/v1/search", {"query": "warm up", "top_k": 5})
    took, first = [], []
    for row in rows:
        started = time.perf_counter()
        answer = _call(f"{base}/v1/search", {"query": row["query"], "top_k": 5})
        took.append((time.perf_counter() - started) * 1000)
        first.append([r["hits"][0]["chunk_id"] == row["positive_id"] for r in answer["results"]])
    cuts = statistics.quantiles(took, n=100)
    models = [r["model"] for r in answer["results"]]
    print(f"{len(took)} questions, models {models}")
    print(f"round trip ms: p50 {cuts[49]:.1f}  p95 {cuts[94]:.1f}  max {max(took):.1f}")
    for index, model in enumerate(models):
        share = sum(hit[index] for hit in first) / len(first)
        print(f"{model}: own passage first for {share:.0%}")


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
