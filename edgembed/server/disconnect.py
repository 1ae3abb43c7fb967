"""Noticing that a request's client has gone, so that work nobody will read stops."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from edgembed.errors import RequestError

__all__ = ["Receive", "unless_disconnected"]

T = TypeVar("T")
Receive = Callable[[], Awaitable[Mapping[str, Any]]]
"""The ASGI receive callable of a request (``request.receive`` in a Litestar handler)."""


async def unless_disconnected(work: Awaitable[T], receive: Receive) -> T:
    """Await `work`, cancelling it if the client disconnects first.

    Call it once the request's body has been read: from then on the ASGI server's receive()
    returns only when the client disconnects (or the response is complete).

    Raises:
        RequestError: 499 (nginx's "client closed request") when the client went away; the
            answer reaches nobody, but the metrics count it.
    """
    task = asyncio.ensure_future(work)
    watch = asyncio.ensure_future(_disconnected(receive))
    try:
        done, _ = await asyncio.wait({task, watch}, return_when=asyncio.FIRST_COMPLETED)
    finally:  # also when this coroutine is cancelled: neither task outlives it
        watch.cancel()
        if not task.done():
            task.cancel()
    if task in done:
        return task.result()
    raise RequestError(
        "The client closed the connection; the rest of its request was not embedded.",
        status=499,
        code="client_closed_request",
    )


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
