"""EdgembedEmbeddings against a scripted local HTTP server (retries, batching, errors) and, slow,
against a real `edgembed serve` process with a real ONNX export."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edgembed.client import EdgembedEmbeddings
from edgembed.errors import ClientError, ConfigError
from tests.server.conftest import real_export  # noqa: F401  (a session fixture, reused)
from tests.server.live import free_port, live_server

Reply = tuple[int, dict[str, str], dict[str, Any] | None]


class ScriptedServer:
    """Answers each POST /v1/embeddings with the next scripted reply; then embeds for real.

    The "real" answer is the vector [len(text), index] for each input, in reverse order of
    index, as base64 float32: enough to check decoding, ordering and batching.
    """

    def __init__(self, script: list[Reply]) -> None:
        self.script = list(script)
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.url = ""

    def answer(self, body: dict[str, Any]) -> Reply:
        if self.script:
            return self.script.pop(0)
        data = [
            {"object": "embedding", "index": i, "embedding": _b64([len(text), i])}
            for i, text in enumerate(body["input"])
        ]
        return 200, {}, {"object": "list", "data": data[::-1], "model": body["model"]}


def _b64(values: list[float]) -> str:
    return base64.b64encode(np.array(values, dtype="<f4").tobytes()).decode()


@pytest.fixture()
def scripted() -> Iterator[ScriptedServer]:
    state = ScriptedServer([])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802  (http.server's naming)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.requests.append(body)
            state.headers.append(dict(self.headers))
            status, headers, payload = state.answer(body)
            raw = json.dumps(payload).encode()
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def _envelope(status: int, message: str, code: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "error", "param": None, "code": code}}


def _client(server: ScriptedServer, **options: Any) -> EdgembedEmbeddings:
    options = {"model": "m", "backoff_s": 0.01, **options}
    return EdgembedEmbeddings(server.url, **options)


def test_batches_keep_order_and_decode_base64(scripted: ScriptedServer) -> None:
    texts = ["a", "bb", "ccc", "dddd", "eeeee"]
    vectors = _client(scripted, batch_size=2, api_key="k").embed_documents(texts)
    assert vectors == [[1, 0], [2, 1], [3, 0], [4, 1], [5, 0]]
    assert [request["input"] for request in scripted.requests] == [
        ["a", "bb"],
        ["ccc", "dddd"],
        ["eeeee"],
    ]
    assert all(request["encoding_format"] == "base64" for request in scripted.requests)
    assert scripted.headers[0]["Authorization"] == "Bearer k"


def test_queries_and_documents_say_which_they_are(scripted: ScriptedServer) -> None:
    client = _client(scripted)
    client.embed_query("a question")
    client.embed_documents(["a passage", "another"])
    assert [request["input_type"] for request in scripted.requests] == ["query", "document"]
    _client(scripted, send_input_type=False).embed_query("for a strict server")
    assert "input_type" not in scripted.requests[-1]


def test_query_and_aliases(scripted: ScriptedServer) -> None:
    client = _client(scripted, dimensions=2)
    assert client.embed_query("abc") == [3, 0]
    assert client.embed_text("abcd") == [4, 0]
    assert client.embed_texts(["x", "yy"]) == [[1, 0], [2, 1]]
    assert client.embed_documents([]) == []
    assert scripted.requests[0]["dimensions"] == 2
    assert len(scripted.requests) == 3
    with pytest.raises(TypeError, match="embed_query"):
        client.embed_documents("one string")  # type: ignore[arg-type]


def test_retries_429_then_succeeds_honouring_retry_after(scripted: ScriptedServer) -> None:
    scripted.script = [(429, {"Retry-After": "1"}, _envelope(429, "slow down", "rate_limit"))]
    started = time.perf_counter()
    assert _client(scripted).embed_query("abc") == [3, 0]
    assert time.perf_counter() - started >= 0.9  # waited Retry-After, not the 10 ms backoff
    assert len(scripted.requests) == 2


def test_gives_up_on_503_after_the_retries(scripted: ScriptedServer) -> None:
    busy = (503, {}, _envelope(503, "queue full", "server_overloaded"))
    scripted.script = [busy] * 3
    with pytest.raises(ClientError, match="queue full; gave up after 3 attempts") as raised:
        _client(scripted, retries=2).embed_query("abc")
    assert (raised.value.status, raised.value.code) == (503, "server_overloaded")
    assert len(scripted.requests) == 3


def test_client_errors_are_not_retried(scripted: ScriptedServer) -> None:
    scripted.script = [(400, {}, _envelope(400, "input must not be empty", "invalid_input"))]
    with pytest.raises(ClientError, match="400: input must not be empty") as raised:
        _client(scripted).embed_query("")
    assert raised.value.status == 400
    assert len(scripted.requests) == 1


def test_unreachable_server_is_a_clear_error() -> None:
    client = EdgembedEmbeddings(f"http://127.0.0.1:{free_port()}/v1/", model="m", retries=1)
    client.backoff_s = 0.01
    with pytest.raises(ClientError, match="cannot reach .* gave up after 2 attempts") as raised:
        client.embed_query("abc")
    assert raised.value.status is None


def test_bad_options() -> None:
    with pytest.raises(ConfigError, match="batch_size"):
        EdgembedEmbeddings("http://127.0.0.1:1", batch_size=0)


@pytest.mark.slow
def test_against_real_server(real_export: Path) -> None:  # noqa: F811
    from edgembed.runtime import OnnxEmbedder

    texts = ["How do I reset my password?", "Invoices go out monthly.", "VPN needs a token."]
    # fp32: its output does not depend on which texts share a batch (int8's does).
    expected = OnnxEmbedder(real_export, variant="fp32").embed(texts)
    with live_server(real_export, "--variant", "fp32", env={"EDGEMBED_API_KEY": "k3y"}) as server:
        client = EdgembedEmbeddings(server.url, api_key="k3y", batch_size=2)
        documents = client.embed_documents(texts)
        query = client.embed_query(texts[0])
        model = client.model_id()
        with pytest.raises(ClientError, match="401.*api_key") as refused:
            EdgembedEmbeddings(server.url, api_key="bad", model=model).embed_query("a")
        with pytest.raises(ClientError, match="404.*model id"):
            EdgembedEmbeddings(server.url, api_key="k3y", model="gpt-4").embed_query("a")
    np.testing.assert_allclose(np.array(documents), expected, atol=1e-5)
    np.testing.assert_allclose(query, expected[0], atol=1e-5)
    assert model == "tiny-golden"
    assert refused.value.status == 401
