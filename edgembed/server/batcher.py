"""EmbeddingBatcher: concurrent requests merged into model calls on one worker thread."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from edgembed.errors import RequestError
from edgembed.server.protocol import Embedder

__all__ = ["EmbeddingBatcher"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
Vectors = NDArray[np.float32]


@dataclass
class _Job:
    ids: list[list[int]]
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


class EmbeddingBatcher:
    """Merges concurrent embedding requests into model calls on a single worker thread.

    Requests queue in arrival order. The collector takes the oldest and adds queued ones while
    the padded batch (sequences x longest sequence) stays within ``max_batch_tokens``. When the
    previous batch answered several requests, their clients are likely to come straight back, so
    the collector waits up to ``max_wait_ms`` for as many requests as that batch held; a lone
    client never waits. The model runs on one worker thread, leaving the event loop free to
    read requests and write responses meanwhile. More than ``max_queue`` waiting requests are
    refused with 503 and Retry-After.
    """

    def __init__(
        self,
        embedder: Embedder,
        *,
        max_batch_tokens: int,
        max_wait_ms: float,
        max_queue: int,
        on_batch: Callable[[int, int], None] | None = None,
    ) -> None:
        """Args:
        on_batch: called after each model call with (inputs, tokens), for metrics.
        """
        self._embedder = embedder
        self._budget = max_batch_tokens
        self._max_wait = max_wait_ms / 1000
        self._max_queue = max_queue
        self._on_batch = on_batch
        self._pending: deque[_Job] = deque()
        self._arrived = asyncio.Event()
        self._executor: ThreadPoolExecutor | None = None
        self._collector: asyncio.Task[None] | None = None
        self._closing = False
        self._last_batch_jobs = 1

    @property
    def depth(self) -> int:
        """Requests waiting for the model."""
        return len(self._pending)

    def start(self) -> None:
        """Start the worker thread and the collector (call from the running event loop)."""
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="edgembed-model")
        self._arrived = asyncio.Event()
        self._closing = False
        self._collector = asyncio.get_running_loop().create_task(self._collect())

    async def close(self) -> None:
        """Finish every queued request, then stop the collector and the worker thread."""
        self._closing = True
        self._arrived.set()
        if self._collector is not None:
            await self._collector
            self._collector = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    async def embed(self, ids: list[list[int]]) -> Vectors:
        """Embed token id sequences, batched with whatever else is waiting.

        Raises:
            RequestError: 503 when the queue is full or the batcher is shutting down.
        """
        if self._closing or self._collector is None:
            raise RequestError(
                "The server is shutting down; retry on another instance.",
                status=503,
                code="server_unavailable",
                retry_after=1,
            )
        if len(self._pending) >= self._max_queue:
            raise RequestError(
                f"The server is overloaded: {len(self._pending)} requests are already waiting. "
                "Retry after the delay in Retry-After, or send fewer requests at once.",
                status=503,
                code="server_overloaded",
                retry_after=1,
            )
        future: asyncio.Future[Vectors] = asyncio.get_running_loop().create_future()
        self._pending.append(_Job(ids, future, max(map(len, ids))))
        self._arrived.set()
        return await future

    async def run(self, func: Callable[[], T]) -> T:
        """Run other CPU work (tokenizing a big request) on the worker thread."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, func)

    async def _collect(self) -> None:
        while True:
            if not self._pending:
                if self._closing:
                    return
                self._arrived.clear()
                await self._arrived.wait()
                continue
            batch = _Batch()
            self._fill(batch)
            if not batch.jobs:
                continue
            if self._max_wait > 0 and len(batch.jobs) < self._last_batch_jobs:
                await self._wait_for_more(batch)
            self._last_batch_jobs = len(batch.jobs)
            await self._run(batch)

    def _fill(self, batch: _Batch) -> bool:
        """Move waiting jobs into `batch` while they fit; False once the budget is full."""
        while self._pending:
            if self._pending[0].future.done():  # its client went away
                self._pending.popleft()
                continue
            if not batch.fits(self._pending[0], self._budget):
                return False
            batch.add(self._pending.popleft())
        return True

    async def _wait_for_more(self, batch: _Batch) -> None:
        deadline = asyncio.get_running_loop().time() + self._max_wait
        while len(batch.jobs) < self._last_batch_jobs and not self._closing:
            self._arrived.clear()
            try:
                async with asyncio.timeout_at(deadline):
                    await self._arrived.wait()
            except TimeoutError:
                return
            if not self._fill(batch):
                return

    async def _run(self, batch: _Batch) -> None:
        ids = [sequence for job in batch.jobs for sequence in job.ids]
        # One model call for the whole batch when it fits the budget; a single huge request
        # is cut into budget-sized calls by the engine.
        batch_size = max(1, min(len(ids), self._budget // max(batch.longest, 1)))
        loop = asyncio.get_running_loop()
        try:
            vectors = await loop.run_in_executor(
                self._executor, self._embedder.embed_ids, ids, batch_size
            )
        except Exception as exc:  # the engine failed: every request in the batch learns why
            logger.exception("embedding a batch of %d inputs failed", len(ids))
            for job in batch.jobs:
                if not job.future.done():
                    job.future.set_exception(exc)
            return
        start = 0
        for job in batch.jobs:
            end = start + len(job.ids)
            if not job.future.done():
                job.future.set_result(vectors[start:end])
            start = end
        if self._on_batch is not None:
            self._on_batch(len(ids), sum(map(len, ids)))
