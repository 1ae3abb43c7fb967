"""A real `edgembed serve` process on 127.0.0.1, for the slow end-to-end tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen[bytes]
    ready_after_s: float

    def rss_mb(self) -> float:
        """Resident memory of the server process, from /proc."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise AssertionError("no VmRSS line")

    def stop(self) -> bool:
        """SIGTERM, as a container runtime stops it; whether it then exited cleanly.

        After its graceful shutdown uvicorn re-raises the signal, so a clean exit is -SIGTERM.
        """
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30) in (0, -signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def get_json(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


@contextmanager
def live_server(
    export_dir: Path, *args: str, env: dict[str, str] | None = None
) -> Iterator[LiveServer]:
    """Run `edgembed serve EXPORT_DIR ARGS` on a free port until /ready answers 200."""
    port = free_port()
    command = [
        sys.executable,
        "-c",
        "from edgembed.cli.main import main; main()",
        "serve",
        str(export_dir),
        "--port",
        str(port),
        *args,
    ]
    with tempfile.TemporaryFile() as log:
        started = time.perf_counter()
        process = subprocess.Popen(command, env={**os.environ, **(env or {})}, stderr=log)
        server = LiveServer(f"http://127.0.0.1:{port}", process, 0.0)
        try:
            server.ready_after_s = _wait_ready(server, started, log)
            yield server
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)


def _wait_ready(server: LiveServer, started: float, log: IO[bytes], timeout: float = 60) -> float:
    while time.perf_counter() - started < timeout:
        if server.process.poll() is not None:
            log.seek(0)
            raise AssertionError(f"server exited: {log.read().decode()}")
        try:
            status, _ = get_json(f"{server.url}/ready")
        except OSError:
            status = 0
        if status == 200:
            return time.perf_counter() - started
        time.sleep(0.02)
    raise AssertionError("server not ready in time")
