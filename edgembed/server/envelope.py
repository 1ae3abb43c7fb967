"""The one exception handler: every error, ours or the framework's, in OpenAI's envelope.

``{"error": {"message": ..., "type": ..., "param": ..., "code": ...}}`` with the right status;
never a traceback (unexpected errors are logged here and answered with a plain 500).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from litestar import Request
from litestar.exceptions import HTTPException, InternalServerException, ValidationException
from litestar.response import Response

from edgembed.errors import EdgembedError, InputError, RequestError
from edgembed.server.schemas import NOT_BLANK, ErrorBody, ErrorEnvelope

__all__ = ["EMPTY_BODY", "body_problem", "error_response", "shown"]

logger = logging.getLogger(__name__)

_ROUTES_HELP = (
    "This server answers POST /v1/embeddings, GET /v1/models, POST /api/embed, GET /health, "
    "GET /ready, GET /metrics and GET /docs."
)
# What Litestar raises when the client disconnects while it reads the body (e.g. closed by the
# server's body deadline): counted as 499, nginx's "client closed request", not as a 500.
_CLIENT_GONE = "client disconnected prematurely"
_MISSING_FIELD = re.compile(r"missing required field `(\w+)`")
EMPTY_BODY = "The request body is empty: send a JSON object."
_BLANK = f"Expected `str` matching regex {NOT_BLANK!r}"  # msgspec's words for a blank text
_CODES = {
    401: "invalid_api_key",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    415: "unsupported_media_type",
    429: "rate_limit_exceeded",
    503: "server_overloaded",
}


def shown(value: str, limit: int = 100) -> str:
    """`value` as an error message may quote it: at most `limit` characters of what a client
    sent (a 7 MB model name is not sent back whole)."""
    return value if len(value) <= limit else f"{value[:limit]}..."


def body_problem(detail: str, key: str | None) -> tuple[str, str | None]:
    """The message and `param` for a body that does not fit its route's shape: `detail` is the
    decoder's reason, `key` where in the body (None: the body as a whole)."""
    detail = shown(detail, 300).replace(_BLANK, "Expected some text, got only spaces or nothing")
    if not key:
        missing = _MISSING_FIELD.search(detail)
        return f"Invalid request body: {detail}.", missing.group(1) if missing else None
    return f"Invalid request body: {detail} at `{shown(key)}`.", key.split("[")[0]


def error_response(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorEnvelope]:
    """Answer `exc` in OpenAI's error envelope (registered for every exception class)."""
    error, status, headers = _describe(request, exc)
    return Response(ErrorEnvelope(error=error), status_code=status, headers=headers)


def _describe(
    request: Request[Any, Any, Any], exc: Exception
) -> tuple[ErrorBody, int, dict[str, str]]:
    if isinstance(exc, RequestError):
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else {}
        return _body(str(exc), exc.status, exc.param, exc.code), exc.status, headers
    if isinstance(exc, ValidationException):
        message, param = _validation_message(exc)
        return _body(message, 400, param, "invalid_request_body"), 400, {}
    if isinstance(exc, InternalServerException) and exc.detail == _CLIENT_GONE:
        message = "The client closed the connection before its request body was complete."
        return _body(message, 499, None, "client_closed_request"), 499, {}
    if isinstance(exc, HTTPException):
        return _http_error(request, exc)
    if isinstance(exc, InputError):
        return _body(str(exc), 400, "input", None), 400, {}
    if isinstance(exc, RecursionError):  # the JSON parser's, on a body of deeply nested lists
        message = (
            "The request body is not valid JSON here: it is nested too deeply to parse. Send "
            "`input` as a string, a list of strings, or a list of lists of token ids."
        )
        return _body(message, 400, None, "invalid_json"), 400, {}
    if isinstance(exc, EdgembedError):
        logger.error("request failed: %s", exc)
        return _body(str(exc), 500, None, None), 500, {}
    logger.exception("unexpected error on %s %s", request.method, request.url.path)
    message = "The server failed on this request; the details are in its log."
    return _body(message, 500, None, None), 500, {}


def _http_error(
    request: Request[Any, Any, Any], exc: HTTPException
) -> tuple[ErrorBody, int, dict[str, str]]:
    status = exc.status_code
    headers = dict(exc.headers or {})
    message = str(exc.detail)
    path = shown(request.url.path)
    if status == 404:
        message = f"There is no route {request.method} {path}. {_ROUTES_HELP}"
    elif status == 405:
        allowed = headers.get("allow", "")
        message = f"{request.method} is not allowed on {path} (allowed: {allowed})."
    elif status == 413:
        limit = request.app.request_max_body_size
        message = (
            f"The request body is over this server's limit of {limit} bytes. Send fewer or "
            "shorter inputs per request (or start the server with a larger --max-body-bytes)."
        )
    elif status == 400:  # the framework's own 400s are body decoding failures
        message = f"The request body is not valid JSON: {message}."
        return _body(message, 400, None, "invalid_json"), 400, headers
    return _body(message, status, None, _CODES.get(status)), status, headers


def _validation_message(exc: ValidationException) -> tuple[str, str | None]:
    problems = exc.extra if isinstance(exc.extra, list) else []
    first = problems[0] if problems and isinstance(problems[0], dict) else {}
    detail, key = str(first.get("message", exc.detail)), first.get("key")
    if key == "data" and detail == "'data'":
        return EMPTY_BODY, None
    return body_problem(detail, None if key == "data" else str(key) if key else None)


def _body(message: str, status: int, param: str | None, code: str | None) -> ErrorBody:
    return ErrorBody(message=message, type=_error_type(status), param=param, code=code)


def _error_type(status: int) -> str:
    if status == 429:
        return "rate_limit_error"
    if status >= 500:
        return "server_error"
    return "invalid_request_error"
