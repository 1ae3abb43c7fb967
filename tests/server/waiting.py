"""Waiting for a condition in a test, always with a deadline (a stuck server fails, never hangs)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

DEFAULT_TIMEOUT_S = 10.0


def wait_until(
    condition: Callable[[], object], what: str, timeout: float = DEFAULT_TIMEOUT_S
) -> None:
    """Poll `condition` until it is true; fail the test naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:g} s for {what}")
        time.sleep(0.005)


async def wait_until_async(
    condition: Callable[[], object], what: str, timeout: float = DEFAULT_TIMEOUT_S
) -> None:
    """`wait_until` for a coroutine: the event loop keeps running while it polls."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:g} s for {what}")
        await asyncio.sleep(0.001)
