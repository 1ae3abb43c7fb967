"""Checks that run before a route handler: the API key, the content type, then the body, decoded
strictly against the route's body type.

Litestar converts a JSON body to its type with msgspec's ``strict=False`` (it shares that path
with query strings, which arrive as text), so ``"top_k": "5"`` or ``"relevant": 1`` would be
coerced; decoding once strictly first refuses them, as the OpenAPI schema says. A number with
no fraction (``4.0``) is an integer, as JSON Schema has it. `DecodedRequest` hands the decoded
body to Litestar, which then does not decode it again (a body is decoded once, on the event
loop: 8 MB of token ids cost about 0.1 s).

They run as one Litestar ``before_request`` hook rather than as guards: Litestar copies the
route handler for every guard call (about 40 us a request) and runs a plain-function guard on
a thread pool.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from litestar import Request

from edgembed.errors import RequestError
from edgembed.server.envelope import EMPTY_BODY, body_problem, shown

__all__ = ["DecodedRequest", "request_checks"]

RequestCheck = Callable[[Request[Any, Any, Any]], Awaitable[None]]


def request_checks(api_key: str | None) -> RequestCheck:
    """The hook for the API routes: a Bearer key when `api_key` is set, JSON bodies of the
    route's type on POST.

    Raises (from the hook):
        RequestError: 401 for a missing or wrong key, 415 for a body that is not JSON, 400 for
            a body that is not valid JSON or not of the route's type.
    """
    expected = api_key.encode() if api_key else None

    async def check(request: Request[Any, Any, Any]) -> None:
        if expected is not None:
            _check_api_key(request.headers.get("authorization", ""), expected)
        if request.method == "POST":
            _check_json(request.headers.get("content-type", ""))
            await _decode_strictly(request)

    return check


class DecodedRequest(Request[Any, Any, Any]):
    """A Request whose JSON body is the one the checks decoded (Litestar's own conversion then
    returns it as it is)."""

    async def json(self) -> Any:
        decoded = self.scope["state"].get(_DECODED)
        return decoded if decoded is not None else await super().json()


async def _decode_strictly(request: Request[Any, Any, Any]) -> None:
    data = request.route_handler.parsed_fn_signature.parameters.get("data")
    if data is None:
        return
    body = await request.body()
    if not body:
        raise RequestError(EMPTY_BODY, code="invalid_request_body")
    try:
        decoded = msgspec.json.decode(body, type=data.annotation, strict=True)
    except msgspec.ValidationError:
        decoded = _decode_with_integral_floats(body, data.annotation)
    except msgspec.DecodeError as exc:
        message = f"The request body is not valid JSON: {shown(str(exc), 300)}."
        raise RequestError(message, code="invalid_json") from exc
    request.scope["state"][_DECODED] = decoded


def _decode_with_integral_floats(body: bytes, body_type: Any) -> Any:
    """The slow path, for a body the typed decoder refused: again with ``4.0`` as 4."""
    try:
        return msgspec.convert(_INTEGRAL_FLOATS.decode(body), body_type, strict=True)
    except msgspec.ValidationError as exc:
        detail, _, at = str(exc).partition(" - at `$")
        message, param = body_problem(detail, at.rstrip("`").lstrip(".") or None)
        raise RequestError(message, param=param, code="invalid_request_body") from exc


def _integral(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() and abs(value) < 2**63 else value


_INTEGRAL_FLOATS = msgspec.json.Decoder(float_hook=_integral)
_DECODED = "edgembed.body"


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
            f"'{shown(content_type) or 'no content type'}'.",
            status=415,
            code="unsupported_media_type",
        )
