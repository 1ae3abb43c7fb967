"""FeedbackStore and POST /v1/feedback: whether a passage answered a query, stored durably.

Rows live in one SQLite file the operator chooses (``serve --feedback-db PATH``), in WAL mode
with ``synchronous=FULL``: a row is committed, and its commit fsynced, before the request is
answered, so an acknowledged row survives the process being killed (and a power cut). Writes
run on one thread of their own, never on the event loop; SQLite serialises them anyway.

The table (``PRAGMA user_version`` 1), which `train` reads::

    feedback(id INTEGER PRIMARY KEY, time TEXT, query TEXT, chunk_id TEXT, passage TEXT,
             relevant INTEGER, model TEXT)
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from litestar import Request, post
from litestar.openapi import ResponseSpec

from edgembed.errors import ConfigError, RequestError
from edgembed.server.openapi import error_responses
from edgembed.server.querylog import open_private
from edgembed.server.schemas import ErrorEnvelope, FeedbackReceipt, FeedbackRequest

__all__ = ["SCHEMA", "FeedbackStore", "record_feedback"]

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    query TEXT NOT NULL,
    chunk_id TEXT,
    passage TEXT,
    relevant INTEGER NOT NULL CHECK (relevant IN (0, 1)),
    model TEXT
)
"""


class FeedbackStore:
    """One SQLite file of feedback rows; `add` returns only once the row is on disk."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="feedback")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            os.close(open_private(path))  # SQLite gives its -wal and -shm files the same mode
            # The connection moves to the writer thread; that one thread is all that uses it.
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(SCHEMA)
            self._check_version()
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(
                f"Cannot open the feedback database {path}: {exc}. Pass a --feedback-db path "
                "in a folder this user may write (a new file is created)."
            ) from exc

    async def add(self, row: FeedbackRequest) -> int:
        """Store `row` off the event loop; its id once it is committed and fsynced."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer, self._insert, row)

    def count(self) -> int:
        """Rows stored so far."""
        return int(self._db.execute("SELECT count(*) FROM feedback").fetchone()[0])

    def close(self) -> None:
        """Finish the writes under way, then close the file."""
        self._writer.shutdown(wait=True)
        self._db.close()

    @asynccontextmanager
    async def lifespan(self, _app: object) -> AsyncIterator[None]:
        """Close the store when the server stops."""
        try:
            yield
        finally:
            self.close()

    def _insert(self, row: FeedbackRequest) -> int:
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        values = (now, row.query, row.chunk_id, row.passage, int(row.relevant), row.model)
        with self._db:  # BEGIN ... COMMIT; synchronous=FULL fsyncs the WAL at COMMIT
            cursor = self._db.execute(
                "INSERT INTO feedback (time, query, chunk_id, passage, relevant, model) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                values,
            )
        return int(cursor.lastrowid or 0)

    def _check_version(self) -> None:
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if version == 0:
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        elif version != SCHEMA_VERSION:
            raise sqlite3.DatabaseError(
                f"it holds feedback format {version}; this edgembed writes {SCHEMA_VERSION}"
            )


_OFF = ResponseSpec(
    ErrorEnvelope,
    description="Feedback is off: the server was started without --feedback-db.",
    generate_examples=False,
)


@post(
    "/v1/feedback",
    status_code=200,
    tags=["Feedback"],
    responses={**error_responses(400, 401, 413, 415, 500), 404: _OFF},
)
async def record_feedback(
    data: FeedbackRequest, request: Request[Any, Any, Any]
) -> FeedbackReceipt:
    """Record whether a passage answered a query (stored before this answers 200).

    Name the passage by `chunk_id` (as /v1/search returns it), by its `passage` text, or both.
    """
    store: FeedbackStore | None = request.app.state.get("feedback")
    if store is None:
        raise RequestError(
            "Feedback is off on this server. Start it with --feedback-db PATH to store it.",
            status=404,
            code="feedback_disabled",
        )
    _check(data)
    return FeedbackReceipt(id=await store.add(data))


def _check(data: FeedbackRequest) -> None:
    if not data.query.strip():
        raise RequestError("`query` is blank: send the question that was asked.", param="query")
    if not (data.chunk_id or "").strip() and not (data.passage or "").strip():
        raise RequestError(
            "Name the passage: send its `chunk_id` (as /v1/search returns it), its `passage` "
            "text, or both.",
            param="chunk_id",
        )
