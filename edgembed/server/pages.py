"""The files the server ships for browsers (the playground, the API docs page) and the headers
every one of them is served with.

They are plain HTML, CSS and JavaScript in ``edgembed/server/static``: nothing from a CDN (the
appliance is offline), no inline script, nothing a query could inject.
"""

from __future__ import annotations

from pathlib import Path

from litestar import Response

__all__ = ["PAGE_HEADERS", "STATIC", "with_page_headers"]

STATIC = Path(__file__).parent / "static"

PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


async def with_page_headers(response: Response[object]) -> Response[object]:
    """An ``after_request`` hook: `PAGE_HEADERS` on every response of a router."""
    response.headers.update(PAGE_HEADERS)
    return response
