"""The tests' waits end at their deadline with a message, instead of hanging CI."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.server.waiting import wait_until, wait_until_async


def test_a_wait_that_never_comes_true_fails_at_its_deadline() -> None:
    started = time.monotonic()
    with pytest.raises(AssertionError, match="waited 0.2 s for the impossible"):
        wait_until(lambda: False, "the impossible", timeout=0.2)
    assert time.monotonic() - started < 2


def test_an_async_wait_fails_at_its_deadline_too() -> None:
    with pytest.raises(AssertionError, match="waited 0.2 s for nothing"):
        asyncio.run(asyncio.wait_for(wait_until_async(lambda: False, "nothing", 0.2), 5))


def test_a_wait_returns_once_true() -> None:
    calls = iter([False, False, True])
    wait_until(lambda: next(calls), "the third call")
