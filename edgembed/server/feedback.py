"""FeedbackStore and POST /v1/feedback: whether a passage answered a query, stored durably.

Marks live in one SQLite file the operator chooses (``serve --feedback-db PATH``), in the
format of `edgembed.formats.feedback`: each is committed and fsynced before the request is
answered, so an acknowledged mark survives the process being killed (and a power cut). Writes
run on one thread of their own, never on the event loop; SQLite serialises them anyway.

The file is capped (``serve --feedback-max-mb``): past the cap a mark is refused with 409
``feedback_full``. With a corpus (``serve --corpus``), a ``chunk_id`` must name one of its
passages; without one, only the id's form is checked (1 to 200 characters, not blank).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from litestar import Request, post
from litestar.openapi import ResponseSpec

from edgembed.errors import ConfigError, RequestError
from edgembed.formats.feedback import (
    Mark,
    count_marks,
    insert_mark,
    is_full,
    marked_queries,
    open_feedback_db,
)
from edgembed.server.openapi import error_responses
from edgembed.server.schemas import ErrorEnvelope, FeedbackReceipt, FeedbackRequest
from edgembed.server.search import CorpusSearch

__all__ = ["FeedbackStore", "record_feedback"]


class FeedbackStore:
    """One SQLite file of marks, of at most `max_bytes`; `add` returns only once the mark is
    on disk."""

    def __init__(self, path: Path, max_bytes: int | None = None) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="feedback")
        try:
            # The connection moves to the writer thread; that one thread is all that uses it.
            self._db = open_feedback_db(path, max_bytes)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(
                f"Cannot open the feedback database {path}: {exc}. Pass a --feedback-db path "
                "in a folder this user may write (a new file is created)."
            ) from exc

    async def add(self, row: FeedbackRequest) -> int:
        """Store `row` off the event loop; its id once it is committed and fsynced.

        Raises:
            RequestError: 409 when the file holds its cap (or its disk is full).
        """
        mark = Mark(row.query, row.relevant, row.chunk_id, row.passage, row.model)
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._writer, insert_mark, self._db, mark)
        except sqlite3.OperationalError as exc:
            if not is_full(exc):
                raise
            raise RequestError(self._full_message(), status=409, code="feedback_full") from exc

    def _full_message(self) -> str:
        cap = "its size cap" if self.max_bytes is None else f"{self.max_bytes / 2**20:g} MB"
        return (
            f"The feedback database {self.path.name} is full: it holds {cap} (serve "
            "--feedback-max-mb), or its disk is full; this mark was not stored. Train on the "
            "marks (`edgembed train --feedback PATH`) and move the file away, or restart the "
            "server with a larger --feedback-max-mb."
        )

    def count(self) -> int:
        """Marks stored so far."""
        return count_marks(self._db)

    async def marked_queries(self) -> set[str]:
        """Every query someone has marked a passage for (on the writer thread, after the
        writes queued before it)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer, marked_queries, self._db)

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


_OFF = ResponseSpec(
    ErrorEnvelope,
    description="Feedback is off: the server was started without --feedback-db.",
    generate_examples=False,
)
_FULL = ResponseSpec(
    ErrorEnvelope,
    description="The feedback database holds its cap (serve --feedback-max-mb): not stored.",
    generate_examples=False,
)


@post(
    "/v1/feedback",
    status_code=200,
    tags=["Feedback"],
    responses={**error_responses(400, 401, 413, 415, 500), 404: _OFF, 409: _FULL},
)
async def record_feedback(
    data: FeedbackRequest, request: Request[Any, Any, Any]
) -> FeedbackReceipt:
    """Record whether a passage answered a query (stored before this answers 200).

    Name the passage by `chunk_id` (as /v1/search returns it), by its `passage` text, or both.
    With `serve --corpus`, a `chunk_id` must be one of the corpus's passages.
    """
    store: FeedbackStore | None = request.app.state.get("feedback")
    if store is None:
        raise RequestError(
            "Feedback is off on this server. Start it with --feedback-db PATH to store it.",
            status=404,
            code="feedback_disabled",
        )
    _check(data)
    _check_chunk(data.chunk_id, request.app.state.get("search"))
    return FeedbackReceipt(id=await store.add(data))


def _check_chunk(chunk_id: str | None, search: CorpusSearch | None) -> None:
    if chunk_id is None or search is None or search.has_passage(chunk_id):
        return
    raise RequestError(
        f"chunk_id '{chunk_id}' is not a passage of the corpus this server searches. Send an "
        "id /v1/search returned, or the passage's text as `passage` without a chunk_id.",
        param="chunk_id",
        code="unknown_chunk_id",
    )


def _check(data: FeedbackRequest) -> None:
    # Blank texts never get here (FeedbackRequest's patterns): only a row that names no passage.
    if data.chunk_id is None and data.passage is None:
        raise RequestError(
            "Name the passage: send its `chunk_id` (as /v1/search returns it), its `passage` "
            "text, or both.",
            param="chunk_id",
        )
