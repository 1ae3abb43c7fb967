"""A big request over real sockets: it gives way to small ones, and stops when its client
goes (the real uvicorn server in a thread, the fake model held to control timing)."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from typing import Any

import pytest

from tests.server.conftest import MODEL
from tests.server.fake import FakeEmbedder
from tests.server.threaded import ThreadedServer, threaded_server
from tests.server.waiting import wait_until

pytestmark = pytest.mark.slow  # a network server on 127.0.0.1, though each test takes ~1 s

# 600 inputs of 15 tokens: about 9,000 tokens, 5 pieces of at most 2048 padded tokens.
SMALL = json.dumps({"model": MODEL, "input": "one"}).encode()
BIG = json.dumps({"model": MODEL, "input": [" ".join(["w"] * 13)] * 600}).encode()


def post(server: ThreadedServer, body: bytes) -> tuple[int, Any]:
    connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
    connection.request("POST", "/v1/embeddings", body, {"Content-Type": "application/json"})
    response = connection.getresponse()
    return response.status, json.loads(response.read())


def test_a_small_request_passes_a_big_one(fake: FakeEmbedder) -> None:
    answers: dict[str, float] = {}

    def timed(name: str, body: bytes) -> None:
        status, _ = post(server, body)
        assert status == 200
        answers[name] = time.monotonic()

    with threaded_server(fake) as server:
        wait_until(lambda: fake.batches, "the warm-up batch")
        fake.open.clear()  # each model call now waits for the test
        big = threading.Thread(target=timed, args=("big", BIG))
        big.start()
        wait_until(lambda: len(fake.batches) == 2, "the big request's first piece")
        small = json.dumps({"model": MODEL, "input": "one"}).encode()
        small_thread = threading.Thread(target=timed, args=("small", small))
        small_thread.start()
        time.sleep(0.1)
        fake.open.set()
        big.join(10)
        small_thread.join(10)
    assert fake.batches[1] < 600  # the big request's first piece, not all of it
    assert fake.batches[2] == 1  # the small request went right after that piece
    assert answers["small"] < answers["big"]


def test_a_big_request_stops_when_its_client_goes(fake: FakeEmbedder) -> None:
    with threaded_server(fake) as server:
        wait_until(lambda: fake.batches, "the warm-up batch")
        fake.open.clear()
        with socket.create_connection((server.host, server.port), timeout=5) as sock:
            head = (
                "POST /v1/embeddings HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(BIG)}\r\n\r\n"
            )
            sock.sendall(head.encode() + BIG)
            wait_until(lambda: len(fake.batches) == 2, "the big request's first piece")
        time.sleep(0.1)  # the server notices the closed socket
        fake.open.set()
        status, _ = post(server, json.dumps({"model": MODEL, "input": "after"}).encode())
        metrics = http.client.HTTPConnection(server.host, server.port, timeout=5)
        metrics.request("GET", "/metrics")
        text = metrics.getresponse().read().decode()
    assert status == 200
    assert len(fake.batches) == 3  # warm-up, the first piece, then the next request only
    assert 'edgembed_requests_total{route="/v1/embeddings",status="499"} 1.0' in text


# 2048 texts of about 100 characters and 12 tokens: 200 K characters to tokenize, in pieces.
MANY_TEXTS = [f"text {i} " + "paragraphs " * 8 for i in range(2048)]


def test_a_small_request_passes_a_big_one_while_it_is_tokenized(fake: FakeEmbedder) -> None:
    answers: dict[str, float] = {}

    def timed(name: str, body: bytes) -> None:
        status, _ = post(server, body)
        assert status == 200
        answers[name] = time.monotonic()

    with threaded_server(fake) as server:
        wait_until(lambda: fake.batches, "the warm-up batch")
        fake.calls.clear()
        fake.tokenize_open.clear()  # each tokenize call of several texts waits for the test
        big_body = json.dumps({"model": MODEL, "input": MANY_TEXTS}).encode()
        big = threading.Thread(target=timed, args=("big", big_body))
        big.start()
        wait_until(lambda: fake.calls, "the big request's first piece")
        small = threading.Thread(target=timed, args=("small", SMALL))
        small.start()
        wait_until(lambda: len(fake.calls) == 2, "the small request tokenized inline")
        time.sleep(0.1)
        fake.tokenize_open.set()
        big.join(10)
        small.join(10)
    pieces = [texts for call, texts in fake.calls if call == "tokenize" and texts > 1]
    assert len(pieces) > 1 and sum(pieces) == len(MANY_TEXTS)
    # The small request's model call came right after the big one's first piece.
    assert fake.calls[:3] == [("tokenize", pieces[0]), ("tokenize", 1), ("embed", 1)]
    assert answers["small"] < answers["big"]


def test_a_request_over_the_token_budget_stops_tokenizing(fake: FakeEmbedder) -> None:
    with threaded_server(fake, max_request_tokens=1000) as server:
        wait_until(lambda: fake.batches, "the warm-up batch")
        fake.calls.clear()
        status, body = post(server, json.dumps({"model": MODEL, "input": MANY_TEXTS}).encode())
    assert status == 400 and body["error"]["code"] == "max_tokens_per_request"
    pieces = [texts for call, texts in fake.calls if call == "tokenize"]
    assert len(pieces) == 1 and pieces[0] < len(MANY_TEXTS)  # it stopped at the first piece
    assert "at least" in body["error"]["message"]
