"""Connection guards uvicorn lacks: read and write deadlines, a header size cap and a
connection limit.

uvicorn's keep-alive timer only runs between requests and restarts on every byte received, so
a client that sends its headers (or its body) a byte a second, or opens a connection and sends
nothing, keeps it forever. `guarded_protocol` wraps uvicorn's httptools protocol with:

- a header deadline, from the moment the connection opens (or its previous response ends) to
  the end of the request's headers;
- a body deadline, from the end of the headers to the end of the body;
- a cap on header bytes, so the header deadline bounds memory as well as time;
- a write deadline: once the client stops taking its answer as fast as it is written (the
  transport pauses writing: the socket's buffers are full), it has that long to take the rest;
  then the connection is cut, and the answer it held in memory freed;
- a connection limit: connections beyond it are answered 503 and closed at once;
- on shutdown, a request whose body is still arriving is answered 503 and closed, and a client
  that takes none of its answer for `SHUTDOWN_WRITE_GRACE_S` is cut, so neither a stalled
  upload nor a reader that stopped can hold the graceful shutdown.

A request that is fully received is never cut while it waits for its answer: the model may take
as long as it takes.

It also sends each answer in one write: uvicorn writes a response's headers and its body as two
sends, each a system call and, with Nagle's algorithm off, a packet that wakes the client; the
writes of one turn of the event loop are held and leave together at its end.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import struct
import time
from dataclasses import dataclass
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["ConnectionLimits", "guarded_protocol"]

logger = logging.getLogger(__name__)

# Header bytes allowed per request: h11's default is 16 KiB, nginx's large buffers 32 KiB.
MAX_HEADER_BYTES = 64 * 1024
# On shutdown, how long a client may take none of its answer before it is cut (one that keeps
# reading keeps its connection until the shutdown timeout).
SHUTDOWN_WRITE_GRACE_S = 1.0
_WARN_EVERY_S = 10.0


@dataclass(frozen=True)
class ConnectionLimits:
    """Deadlines in seconds and the most connections held at once (see the module docstring)."""

    header_timeout_s: float
    body_timeout_s: float
    write_timeout_s: float
    max_connections: int


def guarded_protocol(limits: ConnectionLimits) -> type[asyncio.Protocol]:
    """uvicorn's httptools protocol under `limits`: pass it as ``uvicorn.Config(http=...)``."""
    return type("GuardedHttpProtocol", (_GuardedProtocol,), {"limits": limits})


class _GuardedProtocol(HttpToolsProtocol):
    limits: ConnectionLimits
    _last_refusal_warning = 0.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._write_deadline: asyncio.TimerHandle | None = None
        self._shutdown_watch: asyncio.TimerHandle | None = None
        self._unsent = -1  # bytes waiting for the client at the last shutdown check
        self._header_bytes: int | None = 0  # None once this request's headers are complete
        self._parsed_header_bytes = 0  # the request line and headers the parser gave
        self._headers_refused = False
        self._request_started = False
        self._receiving_body = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.limits.max_connections:
            self._refuse_connection(transport)
            return
        super().connection_made(cast(asyncio.Transport, _OneWritePerTurn(transport, self.loop)))
        self._await_request()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._disarm_write()
        if self._shutdown_watch is not None:
            self._shutdown_watch.cancel()
        if self.transport is not None:  # None: refused in connection_made
            super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._header_bytes is not None:
            self._header_bytes += len(data)
        super().data_received(data)
        # Still in the headers after this chunk (the same chunk may carry the body too).
        if self._header_bytes is not None and self._header_bytes > MAX_HEADER_BYTES:
            self._answer_and_close(431, "request_header_fields_too_large", _HEADERS_TOO_LARGE)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._request_started = True
        self._parsed_header_bytes = 0

    # The chunk count above cannot see headers that end inside the chunk that brought most of
    # them; the parser's own callbacks count those exactly.
    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        self._parsed_header_bytes += len(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        self._parsed_header_bytes += len(name) + len(value) + 4  # "name: value\r\n"

    def on_headers_complete(self) -> None:
        if self._parsed_header_bytes > MAX_HEADER_BYTES:
            self._headers_refused = True  # the request never reaches the app
            self._answer_and_close(431, "request_header_fields_too_large", _HEADERS_TOO_LARGE)
            return
        self._header_bytes = None
        self._receiving_body = True
        self._arm(self.limits.body_timeout_s, self._body_too_slow)
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._headers_refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._headers_refused:
            return
        self._receiving_body = False
        self._disarm()
        super().on_message_complete()
        if self.cycle.response_complete:  # answered before its body was read (e.g. a 401)
            self._await_request()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # A pipelined request may be running already, or its body still arriving: its own
        # clock holds until it is answered.
        closing = self.transport.is_closing()
        if not closing and self.cycle.response_complete and not self._receiving_body:
            self._await_request()

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._write_deadline is None:
            self._write_deadline = self.loop.call_later(
                self.limits.write_timeout_s, self._answer_not_taken
            )

    def resume_writing(self) -> None:
        super().resume_writing()
        self._disarm_write()

    def shutdown(self) -> None:
        if self._receiving_body:  # a body that may never come must not hold the shutdown
            self._answer_and_close(503, "server_unavailable", _SHUTTING_DOWN)
            return
        super().shutdown()
        self._check_taken_while_closing()

    def _check_taken_while_closing(self) -> None:
        """On shutdown: cut the connection once its client took none of its answer for
        `SHUTDOWN_WRITE_GRACE_S`; look again while it keeps taking it (until it closes)."""
        unsent = self.transport.get_write_buffer_size()
        if unsent and unsent == self._unsent:
            logger.info("cutting a client that stopped reading its answer, to shut down")
            self._cut()
            return
        self._unsent = unsent
        self._shutdown_watch = self.loop.call_later(
            SHUTDOWN_WRITE_GRACE_S, self._check_taken_while_closing
        )

    def _answer_not_taken(self) -> None:
        self._write_deadline = None
        logger.info(
            "cutting a client that did not take its answer within %g s (--write-timeout-s)",
            self.limits.write_timeout_s,
        )
        self._cut()

    def _cut(self) -> None:
        """Close at once, dropping what the client did not take: close() would wait for it to
        read what is buffered, and a plain abort leaves the kernel's buffer (megabytes)
        trying to deliver it for minutes; a zero linger resets the connection."""
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()

    def _disarm_write(self) -> None:
        if self._write_deadline is not None:
            self._write_deadline.cancel()
            self._write_deadline = None

    def _await_request(self) -> None:
        self._header_bytes = 0
        self._request_started = False
        self._arm(self.limits.header_timeout_s, self._headers_too_slow)

    def _headers_too_slow(self) -> None:
        if self._request_started:
            message = _TOO_SLOW.format(
                part="headers", option="header", seconds=self.limits.header_timeout_s
            )
            self.transport.write(_raw_response(408, "request_timeout", message))
        self.transport.close()  # an idle connection gets no answer, as nginx does

    def _body_too_slow(self) -> None:
        message = _TOO_SLOW.format(part="body", option="body", seconds=self.limits.body_timeout_s)
        self._answer_and_close(408, "request_timeout", message)

    def _arm(self, seconds: float, on_expiry: Any) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, on_expiry)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _answer_and_close(self, status: int, code: str, message: str) -> None:
        """Answer in OpenAI's envelope (unless this request's response has begun), then close.

        The request's handler, if one is waiting for the body, sees the client disconnect.
        """
        self._disarm()
        if self.transport.is_closing():
            return
        answered = self._receiving_body and self.cycle.response_started
        if not answered:
            self.transport.write(_raw_response(status, code, message))
        self.transport.close()

    def _refuse_connection(self, transport: asyncio.Transport) -> None:
        limit = self.limits.max_connections
        transport.write(_raw_response(503, "too_many_connections", _FULL.format(limit=limit)))
        transport.close()
        now = time.monotonic()
        if now - _GuardedProtocol._last_refusal_warning > _WARN_EVERY_S:
            _GuardedProtocol._last_refusal_warning = now
            logger.warning("refusing connections: %d are open (--max-connections)", limit)


class _OneWritePerTurn:
    """A transport whose writes in one turn of the event loop leave as one send at its end
    (a response's headers and body: one system call and one packet instead of two). Everything
    else is the transport's; closing sends what is held first, aborting drops it."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport, self._loop = transport, loop
        self._held: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._held:
            self._loop.call_soon(self._send)
        self._held.append(bytes(data))

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._held))

    def write_eof(self) -> None:
        self._send()
        self._transport.write_eof()

    def close(self) -> None:
        self._send()
        self._transport.close()

    def abort(self) -> None:
        self._held.clear()
        self._transport.abort()

    def _send(self) -> None:
        if not self._held:
            return
        held, self._held = self._held, []
        if not self._transport.is_closing():
            self._transport.writelines(held)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


_TOO_SLOW = (
    "The request {part} did not arrive within {seconds:g} s; the connection is closed. Send the "
    "whole request at once (the server's --{option}-timeout-s sets this deadline)."
)
_HEADERS_TOO_LARGE = f"The request headers are over {MAX_HEADER_BYTES} bytes."
_SHUTTING_DOWN = "The server is shutting down; retry on another instance."
_FULL = (
    "The server holds its limit of {limit} connections; retry in a moment, or reuse a "
    "keep-alive connection."
)
_REASONS = {
    408: "Request Timeout",
    431: "Request Header Fields Too Large",
    503: "Service Unavailable",
}


def _raw_response(status: int, code: str, message: str) -> bytes:
    """A whole HTTP/1.1 response that closes the connection, written before any app runs."""
    error_type = "server_error" if status >= 500 else "invalid_request_error"
    error = {"message": message, "type": error_type, "param": None, "code": code}
    body = json.dumps({"error": error}).encode()
    retry = b"retry-after: 1\r\n" if status == 503 else b""
    head = (
        f"HTTP/1.1 {status} {_REASONS[status]}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n"
    ).encode()
    return head + retry + b"\r\n" + body
