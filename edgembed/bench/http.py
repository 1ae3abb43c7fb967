"""HTTP load: drive a running `edgembed serve` on this machine at bounded concurrency and
compare its latency with the raw engine's.

The load generator (load.py) speaks raw keep-alive HTTP/1.1, cheap enough that the figures
are the server's. Only loopback addresses are accepted: the bench measures this machine, it
is not a load-testing tool for other people's servers.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from edgembed.bench.load import run_load
from edgembed.bench.stats import StopRule, percentile, run_interleaved, run_paired
from edgembed.errors import ConfigError, InputError, ModelError
from edgembed.progress import progress

__all__ = [
    "CONCURRENCY",
    "HttpResult",
    "LocalServer",
    "check_loopback",
    "LARGE_INPUTS",
    "local_server",
    "measure_http",
    "rss_after_large_request",
]

CONCURRENCY = (1, 4, 16)
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_WARMUP_REQUESTS = 20
# The server at concurrency 1 and the engine take turns, a short block each: at least 10
# rounds, more while the median of the rounds' ratios still moves, at most 40 or 20 s.
_OVERHEAD_RULE = StopRule(
    min_rounds=10, max_rounds=40, max_seconds=20.0, block_seconds=0.15, check_every=2
)
_OVERHEAD_REQUESTS = 30
_BLOCK_S = 0.3
_READY_TIMEOUT_S = 120
LARGE_INPUTS = 64
_SETTLE_S = 1.0


@dataclass(frozen=True)
class HttpResult:
    """The server at each concurrency, and its cost over the raw engine on the same text.

    Attributes:
        url: the server.
        levels: run_load's figures per concurrency (req_per_s, latency_ms, status, ...).
        engine_p50_ms: the engine's median on the text, in this process.
        server_p50_ms: the server's median for the same text at concurrency 1, timed in
            blocks alternating with the engine's (None when no engine was given).
        overhead_rounds: the server's median over the engine's in each round of those blocks.
        ready_s: process start to the first 200 from GET /ready; only with --serve.
        idle_rss_mb: the server's resident memory once ready, before any load; only with
            --serve.
        rss_after_large_mb: its resident memory once idle again after the load and one large
            request (`LARGE_INPUTS` inputs of the model's full length); only with --serve.
    """

    url: str
    levels: list[dict[str, Any]]
    engine_p50_ms: float | None = None
    server_p50_ms: float | None = None
    overhead_rounds: tuple[float, ...] = ()
    ready_s: float | None = None
    idle_rss_mb: float | None = None
    rss_after_large_mb: float | None = None

    @property
    def latency_ratio(self) -> float | None:
        """Server median / engine median at concurrency 1: 1.0 would be a free server. The
        median of the rounds' ratios when there were rounds (the two sides compared in the
        same rounds, so that a load that comes and goes does not tip it)."""
        if self.overhead_rounds:
            return percentile(self.overhead_rounds, 50)
        if self.server_p50_ms is None or not self.engine_p50_ms:
            return None
        return self.server_p50_ms / self.engine_p50_ms

    @property
    def overhead_ms(self) -> float | None:
        """What one request at concurrency 1 costs beyond the engine call, in milliseconds."""
        if self.server_p50_ms is None or self.engine_p50_ms is None:
            return None
        return self.server_p50_ms - self.engine_p50_ms

    def to_json(self) -> dict[str, Any]:
        ratio, overhead = self.latency_ratio, self.overhead_ms
        return {
            "url": self.url,
            "engine_p50_ms": _round(self.engine_p50_ms),
            "server_p50_ms_c1": _round(self.server_p50_ms),
            "latency_ratio_c1": _round(ratio),
            "latency_ratio_rounds": [_round(r) for r in self.overhead_rounds],
            "overhead_ms_c1": _round(overhead),
            "levels": self.levels,
            "ready_s": _round(self.ready_s),
            "idle_rss_mb": _round(self.idle_rss_mb),
            "rss_after_large_mb": _round(self.rss_after_large_mb),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def check_loopback(url: str) -> None:
    """Refuse a URL that is not http:// on this machine.

    Raises:
        ConfigError: it is not.
    """
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname not in _LOOPBACK:
        raise ConfigError(
            f"--http must be an http:// URL on this machine (127.0.0.1, localhost or ::1), got "
            f"'{url}'. Start the server here with `edgembed serve EXPORT_DIR`, or pass --serve."
        )


def measure_http(
    url: str,
    text: str,
    *,
    requests: int,
    seconds: float,
    api_key: str | None,
    engine: Callable[[], object] | None,
    concurrency: Sequence[int] = CONCURRENCY,
) -> HttpResult:
    """Send `requests` one-text requests (at most `seconds`) at each concurrency level.

    Args:
        engine: embeds `text` with the served model in this process; when given, blocks of
            engine calls alternate with blocks of requests at concurrency 1 to measure what
            the server adds.

    Raises:
        ConfigError: the URL is not a loopback http:// URL.
        InputError: the server cannot be reached, or answers no request successfully.
    """
    check_loopback(url)
    _wait_ready(url, timeout=5)
    _load(url, 1, _WARMUP_REQUESTS, text, seconds, api_key)
    engine_p50 = server_p50 = None
    rounds: tuple[float, ...] = ()
    if engine is not None:
        engine_p50, server_p50, rounds = _overhead(url, text, api_key, engine)
    levels = [
        _load(url, level, requests, text, seconds, api_key)
        for level in progress(concurrency, desc="http", unit="level")
    ]
    return HttpResult(url, levels, engine_p50, server_p50, rounds)


def _overhead(
    url: str, text: str, api_key: str | None, engine: Callable[[], object]
) -> tuple[float, float, tuple[float, ...]]:
    """Blocks of concurrency-1 requests and blocks of engine calls in turns (`run_paired`).

    Returns:
        the engine's and the server's median block median (ms), and each round's ratio.
    """
    block = StopRule(
        warmup=1, min_rounds=1, max_rounds=1, block_seconds=_OVERHEAD_RULE.block_seconds
    )

    def server_ms() -> float:
        result = _load(url, 1, _OVERHEAD_REQUESTS, text, _BLOCK_S * 10, api_key)
        return float(result["latency_ms"]["p50"])

    def engine_ms() -> float:
        return percentile(run_interleaved({"engine": engine}, block).times["engine"], 50) * 1000

    paired = run_paired(server_ms, engine_ms, _OVERHEAD_RULE)
    rounds = tuple(paired.ratios)
    return percentile(paired.second, 50), percentile(paired.first, 50), rounds


def _load(
    url: str, level: int, requests: int, text: str, seconds: float, api_key: str | None
) -> dict[str, Any]:
    result = run_load(url, level, requests, [text], seconds, api_key=api_key)
    if not result["status"].get(200):
        raise InputError(
            f"{url} answered no request with 200 at concurrency {level} "
            f"(statuses: {result['status']}). Check --api-key and the server's log."
        )
    return result


def _wait_ready(url: str, timeout: float) -> None:
    """Poll GET /ready until it answers 2xx, for up to `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url.rstrip('/')}/ready", timeout=5):
                return
        except OSError as exc:  # URLError and HTTPError (e.g. 503 while loading) included
            if time.monotonic() > deadline:
                raise InputError(
                    f"cannot reach the server at {url} ({exc}). Start it with `edgembed serve "
                    "EXPORT_DIR`, or pass --serve to let the bench start one."
                ) from exc
        time.sleep(0.05)


def rss_after_large_request(server: LocalServer, texts: Sequence[str]) -> float | None:
    """`server`'s resident memory once it is idle again after embedding all of `texts` in one
    request: what a large request leaves behind (None where /proc is not available).

    Raises:
        InputError: the server refused the request.
    """
    with urllib.request.urlopen(f"{server.url}/v1/models", timeout=30) as response:
        model = json.load(response)["data"][0]["id"]
    body = json.dumps({"model": model, "input": list(texts)}).encode()
    request = urllib.request.Request(
        f"{server.url}/v1/embeddings", body, {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        raise InputError(f"the server refused the large request: {exc}") from exc
    time.sleep(_SETTLE_S)  # the server gives memory back once it is idle
    return server.rss_mb()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@dataclass(frozen=True)
class LocalServer:
    """A server process the bench started: its URL, how long it took to get ready, its pid."""

    url: str
    ready_s: float
    pid: int

    def rss_mb(self) -> float | None:
        """Resident memory now (None where /proc is not available)."""
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return None


@contextmanager
def local_server(
    export_dir: Path, variant: str, threads: int | None, extra: Sequence[str] = ()
) -> Iterator[LocalServer]:
    """Run `edgembed serve EXPORT_DIR [extra]` on a free 127.0.0.1 port; stop it afterwards.

    Raises:
        ModelError: the server exited or did not become ready in time.
    """
    port = _free_port()
    command = [sys.executable, "-c", "from edgembed.cli.main import main; main()", "-q"]
    command += ["serve", str(export_dir), "--port", str(port), "--variant", variant]
    command += ["--threads", str(threads)] if threads else []
    command += list(extra)
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log)
        try:
            _await_process(process, url, log)
            yield LocalServer(url, time.perf_counter() - started, process.pid)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _await_process(process: subprocess.Popen[bytes], url: str, log: Any) -> None:
    deadline = time.monotonic() + _READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            tail = log.read().decode(errors="replace").strip()[-2000:]
            raise ModelError(f"`edgembed serve` exited with {process.returncode}: {tail}")
        try:
            _wait_ready(url, timeout=0)
            return
        except InputError:
            time.sleep(0.01)
    raise ModelError(f"`edgembed serve` was not ready after {_READY_TIMEOUT_S}s")
