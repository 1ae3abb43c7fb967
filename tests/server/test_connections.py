"""Slow, idle and stalled clients against the real uvicorn server on real sockets: read
deadlines, the header size cap, the connection limit and a shutdown no upload can hold."""

from __future__ import annotations

import http.client
import json
import select
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.server.conftest import MODEL
from tests.server.fake import FakeEmbedder
from tests.server.threaded import ThreadedServer, threaded_server
from tests.server.waiting import wait_until

pytestmark = pytest.mark.slow  # a network server on 127.0.0.1, though each test takes ~1 s

BODY = json.dumps({"model": MODEL, "input": "hello"}).encode()
HEADERS = (
    b"POST /v1/embeddings HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b"Content-Length: %d\r\n\r\n" % len(BODY)
)


@contextmanager
def connect(server: ThreadedServer) -> Iterator[socket.socket]:
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        yield sock


def trickle(sock: socket.socket, data: bytes, every_s: float = 0.05, limit_s: float = 5) -> bytes:
    """Send `data` a byte at a time until the server answers or closes; return what it sent."""
    deadline = time.monotonic() + limit_s
    for byte in data:
        if select.select([sock], [], [], every_s)[0]:
            break
        try:
            sock.sendall(bytes([byte]))
        except OSError:
            break
        assert time.monotonic() < deadline, "the server let the client trickle forever"
    return read_until_closed(sock, deadline)


def read_until_closed(sock: socket.socket, deadline: float) -> bytes:
    """What arrives until the server closes the connection. A reset is a close too: a server
    that closes with request bytes still unread in its socket makes the kernel send RST after
    the answer (the 431 test hit that in CI and was told "still open")."""
    received = b""
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return received
        except TimeoutError:
            break
        if not chunk:
            return received
        received += chunk
    raise AssertionError(f"the connection was still open at the deadline: {received!r}")


def error_of(response: bytes) -> tuple[int, dict[str, Any]]:
    head, _, body = response.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    return status, json.loads(body)["error"]


def get(server: ThreadedServer, path: str) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection(server.host, server.port, timeout=5)
    connection.request("GET", path)
    return connection.getresponse()


def test_an_idle_connection_is_closed_at_the_header_deadline(fake: FakeEmbedder) -> None:
    with threaded_server(fake, header_timeout_s=0.3) as server, connect(server) as sock:
        started = time.monotonic()
        assert read_until_closed(sock, started + 5) == b""  # closed, with nothing to answer
        assert 0.25 < time.monotonic() - started < 3


def test_headers_sent_a_byte_at_a_time_get_408(fake: FakeEmbedder) -> None:
    with threaded_server(fake, header_timeout_s=0.4) as server, connect(server) as sock:
        started = time.monotonic()
        answer = trickle(sock, HEADERS * 10)
        status, error = error_of(answer)
        assert status == 408 and error["code"] == "request_timeout"
        assert "headers" in error["message"] and "--header-timeout-s" in error["message"]
        assert time.monotonic() - started < 3


def test_a_body_sent_a_byte_at_a_time_gets_408(fake: FakeEmbedder) -> None:
    with threaded_server(fake, body_timeout_s=0.4) as server:
        with connect(server) as sock:
            sock.sendall(HEADERS)
            status, error = error_of(trickle(sock, BODY * 10))
        metrics = get(server, "/metrics").read().decode()
    assert status == 408 and "body" in error["message"]
    assert 'status="500"' not in metrics  # the handler saw a client gone, not a failure


def test_header_bytes_are_capped(fake: FakeEmbedder) -> None:
    with threaded_server(fake) as server, connect(server) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        try:
            for _ in range(80):
                sock.sendall(b"X-Padding: " + b"a" * 1000 + b"\r\n")
        except OSError:
            pass  # closed by the server mid-send
        status, error = error_of(read_until_closed(sock, time.monotonic() + 5))
    assert status == 431 and error["code"] == "request_header_fields_too_large"


def test_a_large_body_sent_with_its_headers_is_not_taken_for_headers(fake: FakeEmbedder) -> None:
    body = json.dumps({"model": MODEL, "input": ["word " * 10] * 2000}).encode()  # ~100 KB
    head = HEADERS.replace(b"%d" % len(BODY), b"%d" % len(body))
    with threaded_server(fake) as server, connect(server) as sock:
        sock.sendall(head + body)
        answer = sock.recv(12)
    assert answer == b"HTTP/1.1 200"


def test_connections_over_the_limit_get_503(fake: FakeEmbedder) -> None:
    with threaded_server(fake, max_connections=2) as server:
        with connect(server) as first, connect(server):
            first.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert b"200 OK" in first.recv(65536)
            with connect(server) as third:
                status, error = error_of(read_until_closed(third, time.monotonic() + 5))
        assert status == 503 and error["code"] == "too_many_connections"
        assert get(server, "/health").status == 200  # room again once they closed


def test_a_keep_alive_client_and_a_slow_model_are_not_cut(fake: FakeEmbedder) -> None:
    """The deadlines cover reading a request, never the wait for its answer."""
    with threaded_server(fake, header_timeout_s=0.3, body_timeout_s=0.3) as server:
        connection = http.client.HTTPConnection(server.host, server.port, timeout=5)
        statuses = []
        for _ in range(3):
            connection.request("POST", "/v1/embeddings", BODY, {"Content-Type": "application/json"})
            statuses.append(connection.getresponse().read() and 200)
            time.sleep(0.1)
        fake.open.clear()
        threading.Timer(0.8, fake.open.set).start()  # the model takes 0.8 s
        connection.request("POST", "/v1/embeddings", BODY, {"Content-Type": "application/json"})
        slow = connection.getresponse()
    assert statuses == [200, 200, 200]
    assert slow.status == 200


def test_a_stalled_upload_does_not_hold_the_shutdown(fake: FakeEmbedder) -> None:
    with threaded_server(fake, body_timeout_s=30, shutdown_timeout_s=20) as server:
        with connect(server) as sock:
            sock.sendall(HEADERS + BODY[:5])  # and then nothing more
            time.sleep(0.2)
            took = server.stop(timeout=10)
            status, error = error_of(read_until_closed(sock, time.monotonic() + 5))
    assert took < 3
    assert status == 503 and error["code"] == "server_unavailable"


@pytest.mark.parametrize(
    "head", [b"GET /health HTTP/1.1\r\n", HEADERS.partition(b"\r\n")[0] + b"\r\n"]
)
def test_header_bytes_are_capped_when_they_arrive_with_their_end(
    fake: FakeEmbedder, head: bytes
) -> None:
    """70 KiB of headers in one write (and a body): the chunk that completes them counts too."""
    padding = b"".join(b"X-Padding-%d: %s\r\n" % (i, b"a" * 1000) for i in range(70))
    body = b"" if head.startswith(b"GET") else BODY
    length = b"Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
    request = head + b"Host: 127.0.0.1\r\n" + length + padding + b"\r\n" + body
    with threaded_server(fake) as server, connect(server) as sock:
        sock.sendall(request)
        status, error = error_of(read_until_closed(sock, time.monotonic() + 5))
    assert status == 431 and error["code"] == "request_header_fields_too_large"


def _ask_and_never_read(server: ThreadedServer) -> socket.socket:
    """A client that asks for a ~10 MB answer and reads none of it (a tiny receive window)."""
    body = json.dumps({"model": MODEL, "input": ["w"] * 2048}).encode()
    head = HEADERS.replace(b"%d" % len(BODY), b"%d" % len(body))
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((server.host, server.port))
    sock.sendall(head + body)
    return sock


def _open_connections(server: ThreadedServer) -> int:
    return len(server.server.server_state.connections)


def test_a_client_that_does_not_read_its_answer_is_cut() -> None:
    fake = FakeEmbedder(dimension=256)  # 2048 vectors of 256 floats: about 10 MB of JSON
    with threaded_server(fake, write_timeout_s=0.5) as server:
        sock = _ask_and_never_read(server)
        try:
            wait_until(lambda: _open_connections(server) == 1, "the connection")
            started = time.monotonic()
            wait_until(lambda: _open_connections(server) == 0, "the cut", timeout=5)
            took = time.monotonic() - started
            # Reset, not closed after the kernel's buffer: that would keep megabytes for minutes.
            wait_until(lambda: _tcp_state(sock) != _ESTABLISHED, "the reset", timeout=2)
        finally:
            sock.close()
    assert took < 3


_ESTABLISHED = 1


def _tcp_state(sock: socket.socket) -> int:
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0]


def test_clients_that_do_not_read_do_not_hold_the_shutdown() -> None:
    fake = FakeEmbedder(dimension=256)
    with threaded_server(fake, write_timeout_s=60, shutdown_timeout_s=20) as server:
        socks = [_ask_and_never_read(server) for _ in range(3)]
        try:
            wait_until(lambda: fake.batches and len(fake.batches) >= 4, "the three answers")
            time.sleep(0.3)  # written, and stuck in the socket buffers
            took = server.stop(timeout=10)
        finally:
            for sock in socks:
                sock.close()
    assert took < 4


# struct tcp_info (linux/tcp.h): tcpi_data_segs_in, the segments with data a socket received,
# is the u32 at byte 152 (Linux 4.6 and later).
_DATA_SEGS_IN = 152


def _data_segments_in(sock: socket.socket) -> int:
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    if len(info) < _DATA_SEGS_IN + 4:
        pytest.skip("this kernel's TCP_INFO does not count data segments")
    return int.from_bytes(info[_DATA_SEGS_IN : _DATA_SEGS_IN + 4], "little")


def _read_response(sock: socket.socket) -> bytes:
    received = b""
    while b"\r\n\r\n" not in received:
        received += sock.recv(65536)
    head, _, body = received.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )  # fmt: skip
    while len(body) < length:
        body += sock.recv(65536)
    return head


@pytest.mark.skipif(not hasattr(socket, "TCP_INFO"), reason="TCP_INFO is Linux's")
def test_an_answer_leaves_in_one_packet(fake: FakeEmbedder) -> None:
    """uvicorn writes a response's headers and body apart: two sends, two packets, two wake-ups
    of the client. The server holds them and sends one (a single query's latency)."""
    with threaded_server(fake) as server, connect(server) as sock:
        for _ in range(3):  # keep-alive: every answer on the connection, not only the first
            before = _data_segments_in(sock)
            sock.sendall(HEADERS + BODY)
            assert _read_response(sock).startswith(b"HTTP/1.1 200")
            assert _data_segments_in(sock) - before == 1
