"""POST /v1/feedback under 16 concurrent clients, valid and invalid, with a SIGKILL in the
middle: every acknowledged row is in the database after a restart; invalid ones got 400."""

from __future__ import annotations

import http.client
import json
import signal
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.server.conftest import real_export  # noqa: F401  (the session export fixture)
from tests.server.live import live_server

pytestmark = pytest.mark.slow

CLIENTS = 16
INVALID: list[Any] = [
    {"chunk_id": "c", "relevant": True},  # no query
    {"query": " ", "chunk_id": "c", "relevant": True},
    {"query": "q", "relevant": True},  # no passage
    {"query": "q", "chunk_id": "c", "relevant": "yes"},
    "not an object",
]


@dataclass
class Tally:
    """What the clients saw: acknowledged ids per query, statuses of invalid posts, failures."""

    acked: dict[str, int] = field(default_factory=dict)
    invalid_statuses: list[int] = field(default_factory=list)
    valid_statuses: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _post(url: str, body: Any) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def _client(url: str, number: int, tally: Tally, stop: threading.Event) -> None:
    for turn in range(10_000):
        if stop.is_set():
            return
        invalid = turn % 3 == 2
        query = f"client {number} question {turn}"
        body = (
            INVALID[turn % len(INVALID)]
            if invalid
            else {"query": query, "chunk_id": f"chunk-{turn}", "relevant": turn % 2 == 0}
        )
        try:
            status, answer = _post(url, body)
        # The server was killed: this request is unacknowledged (an answer cut after its
        # headers is an IncompleteRead, an HTTPException).
        except (OSError, ValueError, http.client.HTTPException):
            return
        with tally.lock:
            if invalid:
                tally.invalid_statuses.append(status)
            else:
                tally.valid_statuses.append(status)
                if status == 200:
                    tally.acked[query] = answer["id"]


def _stored(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as stored:
        return dict(stored.execute("SELECT query, id FROM feedback").fetchall())


def test_acknowledged_feedback_survives_sigkill(
    real_export: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    db = tmp_path / "feedback.db"
    tally, stop = Tally(), threading.Event()
    with live_server(real_export, "--feedback-db", str(db)) as server:
        url = server.url + "/v1/feedback"
        clients = [
            threading.Thread(target=_client, args=(url, number, tally, stop))
            for number in range(CLIENTS)
        ]
        for client in clients:
            client.start()
        deadline = time.monotonic() + 30
        while len(tally.acked) < 300 and time.monotonic() < deadline:
            time.sleep(0.01)
        server.process.send_signal(signal.SIGKILL)  # mid-traffic: requests are in flight
        server.process.wait(timeout=10)
        stop.set()
        for client in clients:
            client.join(timeout=15)

    stored = _stored(db)
    assert len(tally.acked) >= 300
    assert set(tally.valid_statuses) == {200}
    assert tally.invalid_statuses and set(tally.invalid_statuses) == {400}
    assert {query: stored.get(query) for query in tally.acked} == tally.acked
    # A row committed just before the kill may have lost its answer: at most one per client.
    assert len(stored) - len(tally.acked) <= CLIENTS
    print(f"acknowledged {len(tally.acked)}, stored {len(stored)} after SIGKILL")

    with live_server(real_export, "--feedback-db", str(db)) as restarted:
        status, answer = _post(
            restarted.url + "/v1/feedback",
            {"query": "after the restart", "passage": "p", "relevant": False},
        )
        assert restarted.stop()
    assert status == 200 and answer["id"] == max(stored.values()) + 1
    assert _stored(db) == {**stored, "after the restart": answer["id"]}
