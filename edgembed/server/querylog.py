"""QueryLog: the opt-in JSONL log of the queries the server embeds (never documents).

A request's texts are logged only when it says they are queries (``input_type: "query"``, as
`EdgembedEmbeddings.embed_query` sends); requests without the field, or marked ``document``,
leave no trace, so a client that indexes documents through a plain OpenAI SDK never lands its
documents in the log. The lines are `edgembed.formats.querylog`'s.

Every append is flushed and fsynced before the request is answered, on a worker thread so the
event loop never waits on the disk; the file is rotated at its cap.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from litestar import Request

from edgembed.errors import ConfigError
from edgembed.formats.feedback import open_private
from edgembed.formats.querylog import append_queries

__all__ = ["QueryLog", "logged_texts", "record_queries"]

logger = logging.getLogger(__name__)


def logged_texts(raw: object, input_type: str | None) -> list[str]:
    """The texts of one request that belong in the query log: none unless it says "query".

    Token-id inputs are not logged: a log of ids is no use to a person or to training.
    """
    if input_type != "query":
        return []
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list) and all(isinstance(item, str) for item in raw):
        return list(raw)
    return []


class QueryLog:
    """Appends queries to a size-capped JSONL file, durably, one request at a time."""

    def __init__(self, path: Path, max_bytes: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Open once now so a path the server cannot write fails at start, not per request.
            os.close(open_private(path))
        except OSError as exc:
            raise ConfigError(
                f"Cannot write the query log {path}: {exc.strerror}. Pass a --log-queries "
                "path in a folder this user may write."
            ) from exc

    async def record(self, texts: Sequence[str], model: str) -> None:
        """Append `texts` off the event loop; a failure is logged, never raised to the client.

        The embedding is what the caller asked for; a full disk must not take it away.
        """
        if not texts:
            return
        try:
            await asyncio.to_thread(self.append, texts, model)
        except OSError:
            logger.exception("writing the query log %s failed", self.path)

    def append(self, texts: Sequence[str], model: str) -> None:
        """Append one line per text, durably, rotating first when the cap is hit."""
        with self._lock:
            append_queries(self.path, texts, model, self.max_bytes)


async def record_queries(
    request: Request[Any, Any, Any], raw: object, input_type: str | None, model: str
) -> None:
    """Log the queries of one embeddings request, when the server keeps a query log."""
    query_log: QueryLog | None = request.app.state.get("query_log")
    if query_log is not None:
        await query_log.record(logged_texts(raw, input_type), model)
