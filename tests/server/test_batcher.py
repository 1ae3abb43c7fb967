"""EmbeddingBatcher: merging, budgets, waiting, overload and shutdown."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
import pytest

from edgembed.errors import RequestError
from edgembed.server import EmbeddingBatcher
from edgembed.server.batcher import PIECE_TOKENS
from tests.server.fake import FakeEmbedder
from tests.server.waiting import wait_until_async


def run(
    fake: FakeEmbedder, scenario: Callable[[EmbeddingBatcher], Awaitable[Any]], **limits: Any
) -> Any:
    """Run `scenario` against a started batcher over `fake`, closing it afterwards."""
    settings = {"max_batch_tokens": 8192, "max_wait_ms": 0.0, "max_queue": 64, **limits}

    async def main() -> Any:
        batcher = EmbeddingBatcher(fake, **settings)
        batcher.start()
        try:
            return await scenario(batcher)
        finally:
            fake.open.set()
            await batcher.close()

    return asyncio.run(main())


async def hold_worker(fake: FakeEmbedder, batcher: EmbeddingBatcher) -> asyncio.Task[Any]:
    """Start a one-request batch and keep the worker thread stuck inside it."""
    fake.open.clear()
    first = asyncio.create_task(batcher.embed([[1, 2]]))
    await wait_until_async(lambda: fake.batches, "the first batch to reach the model")
    return first


def test_requests_waiting_together_share_one_model_call(fake: FakeEmbedder) -> None:
    async def scenario(batcher: EmbeddingBatcher) -> list[Any]:
        first = await hold_worker(fake, batcher)
        rest = [asyncio.create_task(batcher.embed([[300 + i, 5]])) for i in range(5)]
        await asyncio.sleep(0.01)
        assert batcher.depth == 5
        fake.open.set()
        return [await first, *await asyncio.gather(*rest)]

    results = run(fake, scenario)
    assert fake.batches == [1, 5]
    for i, vectors in enumerate(results[1:]):
        np.testing.assert_allclose(vectors, fake.embed_ids([[300 + i, 5]]), atol=1e-6)


def test_token_budget_splits_batches(fake: FakeEmbedder) -> None:
    async def scenario(batcher: EmbeddingBatcher) -> None:
        first = await hold_worker(fake, batcher)
        # 4 sequences of 4 tokens each: a budget of 8 padded tokens takes two per call.
        rest = [asyncio.create_task(batcher.embed([[1, 2, 3, 4]])) for _ in range(4)]
        await asyncio.sleep(0.01)
        fake.open.set()
        await asyncio.gather(first, *rest)

    run(fake, scenario, max_batch_tokens=8)
    assert fake.batches == [1, 2, 2]


def test_a_request_over_the_budget_still_runs_alone(fake: FakeEmbedder) -> None:
    async def scenario(batcher: EmbeddingBatcher) -> Any:
        return await batcher.embed([[1] * 10] * 3)

    assert run(fake, scenario, max_batch_tokens=4).shape == (3, fake.dimension)


def test_a_lone_client_never_waits(fake: FakeEmbedder) -> None:
    async def scenario(batcher: EmbeddingBatcher) -> float:
        started = time.perf_counter()
        for _ in range(5):
            await batcher.embed([[1, 2]])
        return time.perf_counter() - started

    assert run(fake, scenario, max_wait_ms=500) < 0.4


def test_concurrent_clients_are_waited_for(fake: FakeEmbedder) -> None:
    """After a batch of 3, the next batch waits (up to max_wait) until 3 requests are in."""

    async def scenario(batcher: EmbeddingBatcher) -> None:
        first = await hold_worker(fake, batcher)
        await asyncio.sleep(0.01)
        three = [asyncio.create_task(batcher.embed([[7]])) for _ in range(3)]
        await asyncio.sleep(0.01)
        fake.open.set()
        await asyncio.gather(first, *three)
        staggered = []
        for _ in range(3):
            staggered.append(asyncio.create_task(batcher.embed([[8]])))
            await asyncio.sleep(0.02)
        await asyncio.gather(*staggered)

    run(fake, scenario, max_wait_ms=500)
    assert fake.batches == [1, 3, 3]


def test_a_full_queue_refuses_with_503(fake: FakeEmbedder) -> None:
    async def scenario(batcher: EmbeddingBatcher) -> RequestError:
        first = await hold_worker(fake, batcher)
        queued = [asyncio.create_task(batcher.embed([[1]])) for _ in range(2)]
        await asyncio.sleep(0.01)
        with pytest.raises(RequestError) as refused:
            await batcher.embed([[1]])
        fake.open.set()
        await asyncio.gather(first, *queued)
        return refused.value

    error = run(fake, scenario, max_queue=2)
    assert error.status == 503 and error.retry_after == 1


def test_close_finishes_queued_requests_then_refuses(fake: FakeEmbedder) -> None:
    async def scenario(batcher: EmbeddingBatcher) -> None:
        first = await hold_worker(fake, batcher)
        queued = [asyncio.create_task(batcher.embed([[1, 2, 3]])) for _ in range(3)]
        await asyncio.sleep(0.01)
        closing = asyncio.create_task(batcher.close())
        await asyncio.sleep(0.01)
        fake.open.set()
        await closing
        results = await asyncio.gather(first, *queued)
        assert all(result.shape == (1, fake.dimension) for result in results)
        with pytest.raises(RequestError, match="shutting down"):
            await batcher.embed([[1]])
        with pytest.raises(RequestError, match="shutting down"):
            await batcher.run(lambda: 1)

    run(fake, scenario)


def test_other_work_runs_on_the_model_thread_in_turn(fake: FakeEmbedder) -> None:
    async def scenario(batcher: EmbeddingBatcher) -> tuple[list[str], Any]:
        first = await hold_worker(fake, batcher)
        ran: list[str] = []
        work = asyncio.create_task(batcher.run(lambda: ran.append("work") or "done"))
        await asyncio.sleep(0.01)
        assert ran == []  # queued behind the batch the model thread is in
        fake.open.set()
        await first
        return ran, await work

    ran, result = run(fake, scenario)
    assert ran == ["work"] and result == "done"

    def broken() -> None:
        raise ValueError("bad input")

    async def failing(batcher: EmbeddingBatcher) -> None:
        with pytest.raises(ValueError, match="bad input"):
            await batcher.run(broken)

    run(fake, failing)


def test_an_engine_failure_reaches_every_request_of_the_batch(fake: FakeEmbedder) -> None:
    def broken(ids: list[list[int]], batch_size: int = 32) -> Any:
        raise RuntimeError("boom")

    async def scenario(batcher: EmbeddingBatcher) -> list[Any]:
        fake.embed_ids = broken  # type: ignore[method-assign]
        return await asyncio.gather(
            *(batcher.embed([[1]]) for _ in range(3)), return_exceptions=True
        )

    assert all(isinstance(result, RuntimeError) for result in run(fake, scenario))


def test_a_cancelled_request_is_not_embedded(fake: FakeEmbedder) -> None:
    async def scenario(batcher: EmbeddingBatcher) -> None:
        first = await hold_worker(fake, batcher)
        gone = asyncio.create_task(batcher.embed([[1]]))
        kept = asyncio.create_task(batcher.embed([[2]]))
        await asyncio.sleep(0.01)
        gone.cancel()
        fake.open.set()
        await asyncio.gather(first, kept)

    run(fake, scenario)
    assert fake.batches == [1, 1]


def big_request(sequences: int, length: int) -> list[list[int]]:
    """`sequences` token id sequences of `length` to `length` + 6 tokens (PIECE_TOKENS cuts)."""
    return [[300 + (i + j) % 600 for j in range(length + i % 7)] for i in range(sequences)]


def test_a_big_request_is_cut_into_pieces_that_a_small_one_passes(fake: FakeEmbedder) -> None:
    big = big_request(60, 100)  # about 6,300 padded tokens: 4 pieces of at most 2048

    async def scenario(batcher: EmbeddingBatcher) -> Any:
        fake.open.clear()
        whole = asyncio.create_task(batcher.embed(big))
        await wait_until_async(lambda: fake.batches, "the first piece to reach the model")
        small = asyncio.create_task(batcher.embed([[5, 6]]))
        await asyncio.sleep(0.01)
        fake.open.set()
        return await whole, await small

    vectors, _ = run(fake, scenario)
    assert fake.batches[1] == 1  # the small request ran right after the first piece
    assert len(fake.batches) >= 4 and sum(fake.batches) == 61
    assert max(fake.batches) <= PIECE_TOKENS // 100
    np.testing.assert_allclose(vectors, fake.embed_ids(big), atol=1e-6)  # in input order


def test_a_cancelled_big_request_stops_between_pieces(fake: FakeEmbedder) -> None:
    async def scenario(batcher: EmbeddingBatcher) -> Any:
        fake.open.clear()
        whole = asyncio.create_task(batcher.embed(big_request(60, 100)))
        await wait_until_async(lambda: fake.batches, "the first piece to reach the model")
        whole.cancel()
        fake.open.set()
        await asyncio.sleep(0.05)
        return await batcher.embed([[5, 6]])

    run(fake, scenario)
    assert fake.batches[0] < 60  # a piece of the request, not all of it
    assert len(fake.batches) == 2 and fake.batches[1] == 1  # then the next request only


def test_memory_is_released_once_idle_after_a_big_request_only(fake: FakeEmbedder) -> None:
    async def scenario(batcher: EmbeddingBatcher) -> tuple[int, int]:
        for _ in range(3):
            await batcher.embed([[1, 2, 3]])
        await asyncio.sleep(0.1)
        after_small = fake.releases
        await batcher.embed(big_request(60, 100))
        await wait_until_async(lambda: fake.releases, "the release after the big request")
        await asyncio.sleep(0.1)
        return after_small, fake.releases

    assert run(fake, scenario, release_idle_s=0.05) == (0, 1)


def test_big_requests_back_to_back_release_memory_once_after_the_last(
    fake: FakeEmbedder,
) -> None:
    """An indexer sending document batches back to back never pays for a release (the engine's
    arena would grow back for each); the memory goes back once the model has been idle."""

    async def scenario(batcher: EmbeddingBatcher) -> tuple[int, int, float]:
        for _ in range(4):
            await batcher.embed(big_request(60, 100))
            await asyncio.sleep(0.1)  # the client reads the answer, sends the next
        during = fake.releases
        last = time.monotonic()
        await wait_until_async(lambda: fake.releases, "the release after the last request")
        return during, fake.releases, time.monotonic() - last

    during, after, waited = run(fake, scenario, release_idle_s=0.3)
    assert (during, after) == (0, 1)
    assert waited >= 0.15  # the release waited for the model to be idle, not for the next turn


def test_a_release_asked_for_runs_once_idle_for_its_delay(fake: FakeEmbedder) -> None:
    async def scenario(batcher: EmbeddingBatcher) -> tuple[int, int]:
        batcher.release_soon()
        await asyncio.sleep(0.01)
        before = fake.releases
        await wait_until_async(lambda: fake.releases, "the release")
        return before, fake.releases

    assert run(fake, scenario, release_idle_s=0.05) == (0, 1)
