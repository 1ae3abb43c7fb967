"""Memory of a real `edgembed serve` on the bundled MiniLM export under the worst requests it
accepts: resident memory stays under 600 MB and returns to within 50 MB of idle after each.

The limit in deploy/kubernetes.yaml is 1 GiB; benchmarks/hostile.py measures the same requests
(and the 131,072-token one) with the wait of a one-word request beside each.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest

from tests.server.live import LiveServer, live_server

if TYPE_CHECKING:
    from edgembed.exporter import ExportResult

pytestmark = pytest.mark.slow

PEAK_MB = 600
AFTER_MB = 50
WORDS = "the leave policy says employees carry over five unused vacation days".split()


def _text(chars: int, seed: int) -> str:
    words = [WORDS[(seed + i * 7) % len(WORDS)] for i in range(chars // 5 + 1)]
    return " ".join(words)[:chars]


REQUESTS: dict[str, dict[str, Any]] = {
    "one 7.5 MB text": {"input": _text(7_500_000, 0)},
    "one 7.5 MB word": {"input": "a" * 7_500_000},
    "2048 texts of 4,000 characters (over the token budget)": {
        "input": [_text(4000, seed) for seed in range(2048)]
    },
    "64 texts of 4,000 characters": {"input": [_text(4000, seed) for seed in range(64)]},
    "1.3 M token ids": {"input": [1000] * 1_300_000},
    "2048 one-word texts (a 16 MB answer)": {"input": ["a"] * 2048},
}


def _post(server: LiveServer, body: dict[str, Any]) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", int(server.url.rsplit(":", 1)[1]))
    payload = json.dumps({"model": "m", **body}).encode()
    connection.request("POST", "/v1/embeddings", payload, {"Content-Type": "application/json"})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status


@contextmanager
def _peak(server: LiveServer) -> Iterator[list[float]]:
    """The server's largest VmRSS (MB) while the block runs, sampled every 10 ms."""
    peak = [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], server.rss_mb())
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        yield peak
    finally:
        done.set()
        sampler.join(5)


def test_the_worst_requests_stay_under_600_mb_and_give_memory_back(
    minilm_export: ExportResult,
) -> None:
    with live_server(minilm_export.out, "--model-name", "m") as server:
        time.sleep(1)
        idle = server.rss_mb()
        figures = {}
        for name, body in REQUESTS.items():
            with _peak(server) as peak:
                status = _post(server, body)
            time.sleep(2.5)  # the release runs a second after a big request, once idle
            figures[name] = (status, round(peak[0]), round(server.rss_mb()))
        assert server.stop()
    print(f"idle {idle:.0f} MB; (status, peak MB, after MB): {figures}")
    assert {name: status for name, (status, _, _) in figures.items()} == {
        **dict.fromkeys(REQUESTS, 200),
        "2048 texts of 4,000 characters (over the token budget)": 400,
    }
    assert max(peak for _, peak, _ in figures.values()) < PEAK_MB
    assert max(after for _, _, after in figures.values()) < idle + AFTER_MB
