"""EmbeddingBatcher: concurrent requests merged into model calls on one worker thread."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from edgembed.errors import RequestError
from edgembed.server.protocol import ModelRunner

__all__ = ["PIECE_TOKENS", "EmbeddingBatcher"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
# Padded tokens per piece of a big request. Small enough that a request arriving behind a big
# one waits for one piece only (about 0.3 s for MiniLM int8 on 2 cores), large enough that the
# hop between pieces (one loop turn) costs nothing next to it; the engine cuts each piece into
# calls of its own size anyway.
PIECE_TOKENS = 2048
RELEASE_IDLE_S = 1.0
"""How long the model thread must have had nothing to do before a big request's memory is
given back: an indexer sending document batches back to back never pays for the release (it
cost each of its requests 14-22%: the arena grows back; docs/findings.md)."""
Vectors = NDArray[np.float32]
# What the model thread runs, and the callback the event loop gets with (result, error).
_Work = tuple[Callable[[], Any], Callable[[Any, BaseException | None], None]]


@dataclass
class _Job:
    ids: list[Any]
    future: asyncio.Future[Vectors]
    longest: int


@dataclass
class _Batch:
    jobs: list[_Job] = field(default_factory=list)
    sequences: int = 0
    longest: int = 0

    def fits(self, job: _Job, budget: int) -> bool:
        """Whether `job` joins without the padded batch going over `budget` tokens."""
        if not self.jobs:
            return True
        return (self.sequences + len(job.ids)) * max(self.longest, job.longest) <= budget

    def add(self, job: _Job) -> None:
        self.jobs.append(job)
        self.sequences += len(job.ids)
        self.longest = max(self.longest, job.longest)


def _ignore(_result: Any, error: BaseException | None) -> None:
    if error is not None:
        logger.warning("releasing the model's memory failed: %s", error)


class EmbeddingBatcher:
    """Merges concurrent requests into model calls on a single model thread: token sequences
    of an embedder, or (query, passage) pairs of a reranker (anything with a length).

    Requests queue in arrival order. When the model thread is free, the oldest request goes to
    it with the queued ones that fit: the padded batch (sequences x longest sequence) stays
    within ``max_batch_tokens``. When the previous batch answered several requests, their
    clients are likely to come straight back, so the batch waits up to ``max_wait_ms`` for as
    many requests as that batch held; a lone client never waits. Hand-offs are direct: at the
    end of the loop turn in which requests arrived, they go to the thread if it is free, and
    the thread answers a whole batch with one callback on the event loop, which then hands
    over the next batch (no executor futures, no collector task to wake). More than
    ``max_queue`` waiting requests are refused with 503 and Retry-After.
    """

    def __init__(
        self,
        embedder: ModelRunner,
        *,
        max_batch_tokens: int,
        max_wait_ms: float,
        max_queue: int,
        on_batch: Callable[[int, int], None] | None = None,
        release_idle_s: float = RELEASE_IDLE_S,
    ) -> None:
        """Args:
        on_batch: called after each model call with (inputs, tokens), for metrics.
        release_idle_s: how long the model must have been idle before memory is given back.
        """
        self._embedder = embedder
        self._budget = max_batch_tokens
        self._max_wait = max_wait_ms / 1000
        self._max_queue = max_queue
        self._on_batch = on_batch
        self._pending: deque[_Job] = deque()
        self._work: queue.SimpleQueue[_Work | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._busy = False
        self._dispatch_soon = False
        self._closing = False
        self._drained = asyncio.Event()
        self._last_batch_jobs = 1
        self._release_due = False
        self._release_idle_s = release_idle_s
        self._release_check: asyncio.TimerHandle | None = None
        self._last_active = 0.0

    @property
    def depth(self) -> int:
        """Requests waiting for the model."""
        return len(self._pending)

    def start(self) -> None:
        """Start the model thread (call from the running event loop)."""
        self._loop = asyncio.get_running_loop()
        self._closing = False
        self._drained = asyncio.Event()
        self._thread = threading.Thread(target=self._serve, name="edgembed-model", daemon=True)
        self._thread.start()

    async def close(self) -> None:
        """Finish every queued request, then stop the model thread."""
        self._closing = True
        if self._release_check is not None:
            self._release_check.cancel()
            self._release_check = None
        self._dispatch()
        if self._busy or self._pending:
            await self._drained.wait()
        if self._thread is not None:
            self._work.put(None)
            await asyncio.to_thread(self._thread.join)
            self._thread = None

    def pieces(self, ids: list[Any]) -> list[list[int]]:
        """How `embed` cuts `ids`: indices into it, shortest sequences first, each piece within
        `PIECE_TOKENS` padded tokens (a sequence longer than that goes alone)."""
        budget = min(self._budget, PIECE_TOKENS)
        pieces: list[list[int]] = [[]]
        for index in sorted(range(len(ids)), key=lambda i: len(ids[i])):
            if pieces[-1] and (len(pieces[-1]) + 1) * len(ids[index]) > budget:
                pieces.append([])
            pieces[-1].append(index)
        return pieces

    async def embed(self, ids: list[Any]) -> Vectors:
        """Embed token id sequences, batched with whatever else is waiting.

        A request over `PIECE_TOKENS` padded tokens is cut into pieces (see `pieces`) that
        queue one after the other: each piece goes behind the requests that arrived while the
        one before it ran, so a big request delays a small one by one piece at most, and a
        cancelled request stops between pieces.

        Raises:
            RequestError: 503 when the queue is full or the batcher is shutting down.
        """
        self._check_open()
        if len(self._pending) >= self._max_queue:
            raise RequestError(
                f"The server is overloaded: {len(self._pending)} requests are already waiting. "
                "Retry after the delay in Retry-After, or send fewer requests at once.",
                status=503,
                code="server_overloaded",
                retry_after=1,
            )
        pieces = self.pieces(ids)
        if len(pieces) == 1:
            return await self._queue(ids)
        out: Vectors | None = None
        try:
            for piece in pieces:
                vectors = await self._queue([ids[index] for index in piece])
                if out is None:
                    out = np.empty((len(ids), vectors.shape[1]), dtype=vectors.dtype)
                out[piece] = vectors
        finally:
            self.release_soon()
        assert out is not None
        return out

    async def _queue(self, ids: list[Any]) -> Vectors:
        """Queue one model call's worth of sequences and wait for their vectors."""
        self._check_open()
        future: asyncio.Future[Vectors] = asyncio.get_running_loop().create_future()
        self._pending.append(_Job(ids, future, max(map(len, ids))))
        if not self._dispatch_soon:
            # At the end of this turn of the loop, so that requests that arrived together
            # (their handlers run in this same turn) go to the model together.
            self._dispatch_soon = True
            asyncio.get_running_loop().call_soon(self._dispatch_now)
        return await future

    async def run(self, func: Callable[[], T]) -> T:
        """Run other CPU work (tokenizing a big request) on the model thread.

        Raises:
            RequestError: 503 when the batcher is shutting down.
        """
        self._check_open()
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()

        def settle(result: Any, error: BaseException | None) -> None:
            if future.done():
                return
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)

        self._work.put((func, settle))
        return await future

    def _check_open(self) -> None:
        if self._closing or self._thread is None:
            raise RequestError(
                "The server is shutting down; retry on another instance.",
                status=503,
                code="server_unavailable",
                retry_after=1,
            )

    def _serve(self) -> None:
        """The model thread: run each piece of work, answer on the event loop."""
        assert self._loop is not None
        while (work := self._work.get()) is not None:
            func, done = work
            try:
                result, error = func(), None
            except Exception as exc:  # the caller on the loop learns why
                result, error = None, exc
            self._loop.call_soon_threadsafe(done, result, error)

    def _dispatch_now(self) -> None:
        self._dispatch_soon = False
        self._dispatch()

    def _dispatch(self) -> None:
        """On the loop: hand the next batch to the model thread if it is free."""
        if self._busy or not self._pending:
            return
        batch, full = self._next_batch()
        waiting = len(batch.jobs) < self._last_batch_jobs and self._max_wait > 0
        if waiting and not full and not self._closing:
            if self._timer is None:
                self._timer = self._event_loop().call_later(self._max_wait, self._flush)
            return
        self._flush()

    def _flush(self) -> None:
        """Send what is queued now (the wait for more is over)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._busy:
            return
        batch, _ = self._next_batch()
        taken = {id(job) for job in batch.jobs}
        # The batch is the queue's leading live jobs: drop them, and the cancelled ones around
        # them, from the queue.
        while self._pending and (id(self._pending[0]) in taken or self._pending[0].future.done()):
            self._pending.popleft()
        if not batch.jobs:
            self._check_drained()
            return
        self._last_batch_jobs = len(batch.jobs)
        ids = [sequence for job in batch.jobs for sequence in job.ids]
        # One model call for the whole batch when it fits the budget; a single huge request
        # is cut into budget-sized calls by the engine.
        batch_size = max(1, min(len(ids), self._budget // max(batch.longest, 1)))
        self._busy = True

        def answer(vectors: Any, error: BaseException | None) -> None:
            self._deliver(batch, ids, vectors, error)

        self._work.put((lambda: self._embedder.embed_ids(ids, batch_size), answer))

    def _deliver(
        self, batch: _Batch, ids: list[Any], vectors: Any, error: BaseException | None
    ) -> None:
        """On the loop: answer every request of a finished batch, then start the next."""
        self._busy = False
        self._last_active = self._event_loop().time()
        if error is not None:
            logger.error("embedding a batch of %d inputs failed", len(ids), exc_info=error)
        start = 0
        for job in batch.jobs:
            end = start + len(job.ids)
            if not job.future.done():
                if error is not None:
                    job.future.set_exception(error)
                else:
                    job.future.set_result(vectors[start:end])
            start = end
        if error is None and self._on_batch is not None:
            self._on_batch(len(ids), sum(map(len, ids)))
        self._dispatch()
        self._release_if_idle()
        self._check_drained()

    def release_soon(self) -> None:
        """Give the engine's and the heap's memory back after a big request, once the model
        has been idle for `release_idle_s` (by then the request's body and answer are gone
        too, and a client sending big requests back to back has sent its next one)."""
        self._release_due = True
        self._last_active = self._event_loop().time()
        self._release_if_idle()

    def _release_if_idle(self) -> None:
        """Once a release is due and the model has been idle long enough, let the engine give
        its memory back (the arena and heap keep the peak of the biggest call; a few ms on the
        model thread); while it has not, look again when it would have been."""
        if not self._release_due or self._closing or self._release_check is not None:
            return
        loop = self._event_loop()
        if self._busy or self._pending:
            return  # the batch in hand calls again when it finishes
        wait = self._last_active + self._release_idle_s - loop.time()
        if wait > 0:
            self._release_check = loop.call_later(wait, self._look_again)
            return
        self._release_due = False
        self._work.put((self._embedder.release_memory, _ignore))

    def _look_again(self) -> None:
        self._release_check = None
        self._release_if_idle()

    def _check_drained(self) -> None:
        if self._closing and not self._busy and not self._pending:
            self._drained.set()

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        assert self._loop is not None
        return self._loop

    def _next_batch(self) -> tuple[_Batch, bool]:
        """The batch the queued requests would make now (they stay queued), and whether it is
        full; requests whose clients went away are skipped."""
        batch = _Batch()
        for job in self._pending:
            if job.future.done():
                continue
            if not batch.fits(job, self._budget):
                return batch, True
            batch.add(job)
        return batch, False
