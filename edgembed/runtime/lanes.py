"""Lanes: the calls of one big batch run side by side instead of one after the other.

A batch of documents is cut into calls of a few hundred padded tokens (`CALL_TOKENS`). Run
in sequence on one session, every one of the graph's ~700 ops splits its work over all the
intra-op threads and waits for the slowest at its end; the small element-wise ops gain little
from the split and pay that wait each time, and on a shared machine a thread that loses its
core stalls the others. Two calls running at once, each on half the threads, do the same
arithmetic without those waits. On the 2-core dev box (int8 MiniLM, 32 texts of 128 tokens,
20 interleaved rounds at load 2.3; docs/findings.md) two one-thread lanes took 282 ms where
the calls in sequence on one two-thread session took 366 ms: 1.34x (1.18-1.83x from the
10th to the 90th percentile of the rounds).

A call gives the same vectors on any number of threads (onnxruntime splits rows and columns
across threads, never the sums), so lanes change the speed and not the result.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

__all__ = ["LANES", "Lanes"]

LANES = 2
"""Calls of one batch in flight at once."""

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")


class Lanes(Generic[S]):
    """`LANES` worker threads, each running one call at a time on a session of its own.

    Sessions are made on first use (a script that embeds only single queries never pays for
    them; the server's warm-up makes them): with one intra-op thread per lane the lanes share
    one session (a session runs calls from several threads, and one thread has no pool to
    contend for); with more, each lane gets its own.

    Args:
        make_session: makes a session with the given intra-op threads.
        threads: the threads the model was given, shared out over the lanes.
    """

    def __init__(self, make_session: Callable[[int], S], threads: int) -> None:
        self._make_session = make_session
        self.lane_threads = max(1, threads // LANES)
        self._lock = threading.Lock()
        self._free: queue.SimpleQueue[S] | None = None
        self._sessions: list[S] = []
        self._pool: ThreadPoolExecutor | None = None

    @property
    def sessions(self) -> list[S]:
        """The lanes' sessions made so far (none before the first `map`)."""
        return list(self._sessions)

    def _start(self) -> tuple[queue.SimpleQueue[S], ThreadPoolExecutor]:
        with self._lock:
            if self._free is None or self._pool is None:
                count = 1 if self.lane_threads == 1 else LANES
                self._sessions = [self._make_session(self.lane_threads) for _ in range(count)]
                free: queue.SimpleQueue[S] = queue.SimpleQueue()
                for lane in range(LANES):
                    free.put(self._sessions[lane % count])
                self._pool = ThreadPoolExecutor(LANES, thread_name_prefix="edgembed-lane")
                self._free = free
            return self._free, self._pool

    def map(self, run: Callable[[S, T], R], items: Sequence[T]) -> list[R]:
        """`run(session, item)` for every item, `LANES` at a time; results in item order."""
        free, pool = self._start()

        def on_a_lane(item: T) -> R:
            session = free.get()
            try:
                return run(session, item)
            finally:
                free.put(session)

        return list(pool.map(on_a_lane, items))
