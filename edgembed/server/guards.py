"""Checks that run before a request body is read: the API key and the content type.

Both are coroutines: Litestar runs a plain-function guard on a thread pool, which would cost a
thread round trip on every request.
"""

from __future__ import annotations

import hmac
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Guard

from edgembed.errors import RequestError

__all__ = ["api_key_guard", "require_json"]


def api_key_guard(api_key: str) -> Guard:
    """A guard that lets through only requests with ``Authorization: Bearer <api_key>``."""
    expected = api_key.encode()

    async def check_api_key(
        connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
    ) -> None:
        scheme, _sep, token = connection.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected):
            raise RequestError(
                "Missing or wrong API key. Send it as 'Authorization: Bearer <key>' "
                "(the openai SDK does this with api_key=...).",
                status=401,
                code="invalid_api_key",
            )

    return check_api_key


async def require_json(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Refuse bodies that are not sent as JSON (415), before trying to parse them."""
    content_type = connection.headers.get("content-type", "")
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise RequestError(
            f"The body must be JSON sent with 'Content-Type: application/json', got "
            f"'{content_type or 'no content type'}'.",
            status=415,
            code="unsupported_media_type",
        )
