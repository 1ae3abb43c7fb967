"""The real uvicorn server, configured as `edgembed serve` configures it, in a thread of the test
process on 127.0.0.1: real sockets, the fake model (fast, and holdable)."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn

from edgembed.config import ServeSettings
from edgembed.server import create_app
from edgembed.server.protocol import Embedder
from edgembed.server.run import bind, server_config
from tests.server.waiting import wait_until


@dataclass
class ThreadedServer:
    host: str
    port: int
    server: Any
    thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self, timeout: float = 10) -> float:
        """Ask uvicorn to shut down, as SIGTERM does; return the seconds until it had stopped."""
        started = time.monotonic()
        self.server.should_exit = True
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"the server was still running after {timeout} s"
        return time.monotonic() - started


@contextmanager
def threaded_server(
    embedder: Embedder, versions: Sequence[Embedder] = (), **overrides: Any
) -> Iterator[ThreadedServer]:
    """Serve `embedder` (and its other `versions`) with ServeSettings(**overrides) on a free
    port until the block ends."""
    settings = ServeSettings(port=1, **overrides)  # the port is picked by bind(..., 0)
    listener = bind("127.0.0.1", 0)
    port: int = listener.getsockname()[1]
    app = create_app(settings, embedder, versions=versions)
    server = uvicorn.Server(server_config(app, settings))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    running = ThreadedServer("127.0.0.1", port, server, thread)
    try:
        wait_until(lambda: server.started, "the server to start")
        if versions:  # a switch needs every version warm
            wait_until(lambda: _ready(running.url), "every version to warm up")
        yield running
    finally:
        if thread.is_alive():
            running.stop()
        listener.close()


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/ready", timeout=5) as response:
            return bool(response.status == 200)
    except urllib.error.HTTPError:
        return False
