"""What do the worst requests a client can make cost `edgembed serve`?

Starts `edgembed serve EXPORT` on a free port and, one at a time, sends each hostile request
of `REQUESTS` while a second client sends one-word requests back to back. For each it prints
its status and time, the longest a one-word request waited meanwhile, the server's peak
resident memory (VmRSS, sampled every 10 ms) and its memory once idle again. Then 16 clients
ask for the largest answer (2048 vectors as JSON) and never read it: how long until the server
cuts them (`--write-timeout-s`), and how long SIGTERM then takes to stop the server. Last, all
the requests at once beside the one-word client: how many answers were 5xx.

    .venv/bin/python benchmarks/hostile.py --export WORKSPACE/exports/all-MiniLM-L6-v2
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_WORDS = "the leave policy says employees carry over five unused vacation days each year".split()
_MB = 1024 * 1024


def _words(chars: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    out, size = [], 0
    while size < chars:
        word = rng.choice(_WORDS)
        out.append(word)
        size += len(word) + 1
    return " ".join(out)[:chars]


def _requests() -> dict[str, dict[str, Any]]:
    """The hostile bodies, each under the 8 MiB body limit."""
    huge = 7_500_000
    four_kb = [_words(4000, seed) for seed in range(2048)]
    return {
        "7.5 MB of words": {"input": _words(huge)},
        "7.5 MB of words, truncate false": {"input": _words(huge), "truncate": False},
        "7.5 MB, one word": {"input": "a" * huge},
        "7.5 MB of spaces": {"input": "a" + " " * huge},
        "2048 x 4 KB (over the token budget)": {"input": four_kb},
        "512 x 4 KB (131,072 tokens, the budget)": {"input": four_kb[:512]},
        "1.3M token ids in one list": {"input": [1000] * 1_300_000},
        "512 x 256 token ids": {"input": [[1000 + i % 500] * 254 for i in range(512)]},
        "2048 x 'a' (16 MB answer)": {"input": ["a"] * 2048},
    }


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]
    peak_kb: int = 0
    _sampling: bool = field(default=False, repr=False)

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    @contextmanager
    def peak(self) -> Iterator[Callable[[], float]]:
        """Sample VmRSS every 10 ms while the block runs; the callable gives the peak in MB."""
        self.peak_kb, self._sampling = 0, True

        def sample() -> None:
            while self._sampling:
                self.peak_kb = max(self.peak_kb, int(self.rss_mb() * 1024))
                time.sleep(0.01)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            yield lambda: self.peak_kb / 1024
        finally:
            self._sampling = False
            sampler.join()


def post(port: int, body: dict[str, Any], timeout: float = 300) -> tuple[int, float]:
    """POST /v1/embeddings; (status, seconds)."""
    payload = json.dumps({"model": "m", **body}).encode()
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("POST", "/v1/embeddings", payload, {"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        return response.status, time.perf_counter() - started
    finally:
        connection.close()


@contextmanager
def pinging(port: int) -> Iterator[list[float]]:
    """One-word requests back to back while the block runs; yields their latencies (s)."""
    waits: list[float] = []
    stop = threading.Event()

    def ping() -> None:
        while not stop.is_set():
            status, took = post(port, {"input": "hello"})
            assert status == 200, status
            waits.append(took)

    thread = threading.Thread(target=ping, daemon=True)
    thread.start()
    try:
        yield waits
    finally:
        stop.set()
        thread.join(60)


@contextmanager
def serve(export: Path, *args: str) -> Iterator[Server]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "edgembed", "serve", str(export), "--port", str(port)]
    process = subprocess.Popen([*command, "--model-name", "m", *args])
    server = Server(port, process)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", "/ready")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def one_at_a_time(server: Server) -> list[dict[str, Any]]:
    rows = []
    for name, body in _requests().items():
        time.sleep(1)
        idle = server.rss_mb()
        with server.peak() as peak, pinging(server.port) as waits:
            time.sleep(0.2)
            status, took = post(server.port, body)
            time.sleep(0.2)
        time.sleep(3)  # the server gives memory back once idle
        row = {
            "request": name,
            "status": status,
            "seconds": round(took, 2),
            "one_word_max_wait_s": round(max(waits), 3),
            "one_word_p50_s": round(sorted(waits)[len(waits) // 2], 4),
            "idle_mb": round(idle),
            "peak_mb": round(peak()),
            "after_mb": round(server.rss_mb()),
        }
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def _ask_and_never_read(port: int, clients: int) -> list[socket.socket]:
    """`clients` connections that ask for the 2048-vector answer and never read it."""
    body = json.dumps({"model": "m", "input": ["a"] * 2048}).encode()
    head = (
        "POST /v1/embeddings HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    socks = []
    for _ in range(clients):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", port))
        sock.sendall(head + body)
        socks.append(sock)
    return socks


def _tcp_state(sock: socket.socket) -> int:
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0]


def slow_readers(server: Server, clients: int = 16, limit: float = 180) -> dict[str, Any]:
    """Seconds from the first byte of each unread answer until the server resets it."""
    answered: dict[int, float] = {}
    cut: dict[int, float] = {}
    with server.peak() as peak:
        socks = _ask_and_never_read(server.port, clients)
        deadline = time.monotonic() + limit
        while len(cut) < clients and time.monotonic() < deadline:
            readable = select.select(socks, [], [], 0)[0]
            now = time.monotonic()
            for number, sock in enumerate(socks):
                if sock in readable:
                    answered.setdefault(number, now)
                if number not in cut and _tcp_state(sock) != 1:  # 1: ESTABLISHED
                    cut[number] = now
            time.sleep(0.02)
    for sock in socks:
        sock.close()
    time.sleep(3)
    after = [cut[n] - answered[n] if n in cut and n in answered else None for n in range(clients)]
    return {
        "cut_after_answer_s": [round(s, 1) if s is not None else "not cut" for s in after],
        "peak_mb": round(peak()),
        "after_mb": round(server.rss_mb()),
    }


def _in_progress(port: int) -> float:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("GET", "/metrics")
    for line in connection.getresponse().read().decode().splitlines():
        if line.startswith("edgembed_requests_in_progress "):
            return float(line.split()[1])
    return 0.0


def shutdown_with_readers_that_stopped(export: Path, clients: int = 16) -> float:
    """SIGTERM once `clients` answers are written and unread: seconds until the server exits."""
    with serve(export) as server:
        socks = _ask_and_never_read(server.port, clients)
        deadline = time.monotonic() + 300
        while _in_progress(server.port) > 1 and time.monotonic() < deadline:
            time.sleep(0.5)  # the answers are being made
        time.sleep(1)
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(60)
        took = time.monotonic() - started
        for sock in socks:
            sock.close()
    return took


def mixed(server: Server) -> dict[str, int]:
    """Every hostile request at once, beside the one-word client: statuses counted."""
    statuses: dict[str, int] = {}
    lock = threading.Lock()

    def send(body: dict[str, Any]) -> None:
        status, _ = post(server.port, body)
        with lock:
            statuses[str(status)] = statuses.get(str(status), 0) + 1

    threads = [threading.Thread(target=send, args=(body,)) for body in _requests().values()]
    with pinging(server.port) as waits:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(600)
    statuses["one-word 200"] = len(waits)
    return statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--export", type=Path, required=True)
    parser.add_argument("--out", type=Path, help="also write the figures here as JSON")
    parts = ("requests", "slow-readers", "mixed", "shutdown")
    parser.add_argument("--part", action="append", choices=parts, help="default: all")
    parser.add_argument(
        "--write-timeout-s", default="5", help="passed to serve ('none': not passed)"
    )
    args = parser.parse_args()
    chosen = set(args.part or parts)
    report: dict[str, Any] = {}
    timeout = [] if args.write_timeout_s == "none" else ["--write-timeout-s", args.write_timeout_s]
    with serve(args.export, *timeout) as server:
        report["idle_mb"] = round(server.rss_mb())
        if "requests" in chosen:
            report["requests"] = one_at_a_time(server)
        if "slow-readers" in chosen:
            report["slow_readers"] = slow_readers(server)
            print(json.dumps(report["slow_readers"]), flush=True)
        if "mixed" in chosen:
            report["mixed"] = mixed(server)
            print(json.dumps(report["mixed"]), flush=True)
    if "shutdown" in chosen:
        report["shutdown_s"] = round(shutdown_with_readers_that_stopped(args.export), 1)
        print(json.dumps({"shutdown_s": report["shutdown_s"]}), flush=True)
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
