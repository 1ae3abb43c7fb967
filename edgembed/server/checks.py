"""Checks that run before a request body is read: the API key, then the content type.

They run as one Litestar ``before_request`` hook rather than as guards: Litestar copies the
route handler for every guard call (about 40 us a request) and runs a plain-function guard on
a thread pool.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request

from edgembed.errors import RequestError

__all__ = ["request_checks"]

RequestCheck = Callable[[Request[Any, Any, Any]], Awaitable[None]]


def request_checks(api_key: str | None) -> RequestCheck:
    """The hook for the API routes: a Bearer key when `api_key` is set, JSON bodies on POST.

    Raises (from the hook):
        RequestError: 401 for a missing or wrong key, 415 for a body that is not JSON.
    """
    expected = api_key.encode() if api_key else None

    async def check(request: Request[Any, Any, Any]) -> None:
        if expected is not None:
            _check_api_key(request.headers.get("authorization", ""), expected)
        if request.method == "POST":
            _check_json(request.headers.get("content-type", ""))

    return check


def _check_api_key(authorization: str, expected: bytes) -> None:
    scheme, _sep, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected):
        raise RequestError(
            "Missing or wrong API key. Send it as 'Authorization: Bearer <key>' "
            "(the openai SDK does this with api_key=...).",
            status=401,
            code="invalid_api_key",
        )


def _check_json(content_type: str) -> None:
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise RequestError(
            f"The body must be JSON sent with 'Content-Type: application/json', got "
            f"'{content_type or 'no content type'}'.",
            status=415,
            code="unsupported_media_type",
        )
