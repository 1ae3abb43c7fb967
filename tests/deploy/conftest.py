"""Shared by the deployment tests: the tiny export, and a server process started by a command."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

from tests.server.conftest import real_export  # noqa: F401  (a session fixture, reused)
from tests.server.live import LiveServer, _wait_ready


@contextmanager
def serving(
    command: list[str], port: int, env: dict[str, str] | None = None
) -> Iterator[LiveServer]:
    """Run `command` (a server on 127.0.0.1:`port`) until /ready answers 200; kill it after.

    The command runs in a session of its own, so a wrapper (buildah run) dies with its server.
    """
    with tempfile.TemporaryFile() as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, env={**os.environ, **(env or {})}, stderr=log, start_new_session=True
        )
        server = LiveServer(f"http://127.0.0.1:{port}", process, 0.0)
        try:
            server.ready_after_s = _wait_ready(server, started, log, timeout=120)
            yield server
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
