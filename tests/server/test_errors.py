"""Every bad request answers in OpenAI's error envelope with the right status, never a 500."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.server.conftest import MODEL, ClientFactory, embed
from tests.server.fake import FakeEmbedder
from tests.server.waiting import wait_until

LONG = " ".join(f"w{i}" for i in range(40))
# About 2 KB: 1,000 levels of lists, past the JSON parser's recursion limit.
DEEP = b'{"model": "fake-model", "input": ' + b"[" * 1000 + b"]" * 1000 + b"}"
DEEP_OPTIONS = b'{"model": "fake-model", "input": "a", "options": {"a": ' + DEEP[33:] + b"}"


def assert_envelope(response: Any, status: int, param: str | None = None, code: Any = ...) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["message"] and "Traceback" not in error["message"]
    assert error["type"] == ("server_error" if status >= 500 else "invalid_request_error")
    assert error["param"] == param
    if code is not ...:
        assert error["code"] == code


@pytest.mark.parametrize(
    ("payload", "param", "code"),
    [
        ({"model": MODEL, "input": ""}, "input", None),
        ({"model": MODEL, "input": []}, "input", None),
        ({"model": MODEL, "input": ["a", ""]}, "input", None),
        ({"model": MODEL, "input": [[1, 2], []]}, "input", None),
        ({"model": MODEL, "input": ["a", 1]}, "input", None),
        ({"model": MODEL, "input": [[300], 301]}, "input", None),
        ({"model": MODEL, "input": ["a", None]}, "input", "invalid_request_body"),
        ({"model": MODEL, "input": ["a", {"text": "b"}]}, "input", "invalid_request_body"),
        ({"model": MODEL, "input": [[1, 2.5]]}, "input", "invalid_request_body"),
        ({"model": MODEL, "input": 7}, "input", "invalid_request_body"),
        ({"model": MODEL, "input": [True]}, "input", "invalid_request_body"),
        ({"model": MODEL, "input": [-1, 5]}, "input", "invalid_token_id"),
        ({"model": MODEL, "input": [[5], [1000]]}, "input", "invalid_token_id"),
        ({"model": MODEL, "input": LONG, "truncate": False}, "input", "context_length_exceeded"),
        (
            {"model": MODEL, "input": [list(range(300, 340))], "truncate": False},
            "input",
            "context_length_exceeded",
        ),
        ({"model": MODEL, "input": "a", "dimensions": 0}, "dimensions", None),
        ({"model": MODEL, "input": "a", "dimensions": -3}, "dimensions", None),
        ({"model": MODEL, "input": "a", "dimensions": 17}, "dimensions", None),
        (
            {"model": MODEL, "input": "a", "dimensions": "eight"},
            "dimensions",
            "invalid_request_body",
        ),
        (
            {"model": MODEL, "input": "a", "encoding_format": "int8"},
            "encoding_format",
            "invalid_request_body",
        ),
        ({"input": "a"}, "model", "invalid_request_body"),
        ({"model": MODEL}, "input", "invalid_request_body"),
        ({"model": 3, "input": "a"}, "model", "invalid_request_body"),
    ],
)
def test_bad_embedding_requests_are_400(
    client: TestClient[Any], payload: Any, param: str, code: str | None
) -> None:
    assert_envelope(embed(client, payload), 400, param, code)


def test_too_many_inputs(make_client: ClientFactory) -> None:
    with make_client() as client:
        response = embed(client, {"model": MODEL, "input": ["a"] * 2049})
    assert_envelope(response, 400, "input")
    assert "at most 2048" in response.json()["error"]["message"]


def test_a_request_over_the_token_budget_is_400(make_client: ClientFactory) -> None:
    with make_client(max_request_tokens=12) as client:
        refused = embed(client, {"model": MODEL, "input": ["a b c"] * 3})  # 3 x 5 tokens
        taken = embed(client, {"model": MODEL, "input": ["a b c", "d"]})  # 5 + 3 tokens
    assert_envelope(refused, 400, "input", "max_tokens_per_request")
    assert "15 tokens" in refused.json()["error"]["message"]
    assert "at most 12" in refused.json()["error"]["message"]
    assert taken.status_code == 200


def test_unknown_model_is_404(client: TestClient[Any]) -> None:
    response = embed(client, {"model": "text-embedding-3-small", "input": "a"})
    assert_envelope(response, 404, "model", "model_not_found")
    assert "fake-model" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "message"),
    [(b'{"model": "fake-model", "input": ', "not valid JSON"), (b"", "empty"), (b"[1]", "object")],
)
def test_malformed_bodies(client: TestClient[Any], body: bytes, message: str) -> None:
    response = client.post(
        "/v1/embeddings", content=body, headers={"Content-Type": "application/json"}
    )
    assert_envelope(response, 400)
    assert message in response.json()["error"]["message"]


@pytest.mark.parametrize("path", ["/v1/embeddings", "/api/embed"])
@pytest.mark.parametrize("body", [DEEP, b"[" * 1000, DEEP_OPTIONS])
def test_deeply_nested_json_is_400_and_logs_nothing(
    client: TestClient[Any], caplog: pytest.LogCaptureFixture, path: str, body: bytes
) -> None:
    response = client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert_envelope(response, 400, None, "invalid_json")
    assert "nested" in response.json()["error"]["message"]
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_wrong_content_type_is_415(client: TestClient[Any], content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post(
        "/v1/embeddings", content=b'{"model": "fake-model", "input": "a"}', headers=headers
    )
    assert_envelope(response, 415, None, "unsupported_media_type")


def test_json_with_charset_is_accepted(client: TestClient[Any]) -> None:
    response = client.post(
        "/v1/embeddings",
        content=b'{"model": "fake-model", "input": "a"}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200


def test_oversized_body_is_413(make_client: ClientFactory) -> None:
    with make_client(max_body_bytes=1000) as client:
        response = embed(client, {"model": MODEL, "input": ["word " * 50] * 10})
    assert_envelope(response, 413, None, "request_too_large")
    assert "1000 bytes" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/v1/embedding", 404),
        ("POST", "/v2/embeddings", 404),
        ("GET", "/v1/embeddings", 405),
        ("DELETE", "/v1/models", 405),
        ("GET", "/v1/models/other-model", 404),
    ],
)
def test_unknown_routes_and_methods(
    client: TestClient[Any], method: str, path: str, status: int
) -> None:
    response = client.request(method, path)
    assert_envelope(response, status, "model" if path.endswith("other-model") else None)


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong", "secret", "Basic secret", "Bearer "]
)
def test_missing_or_wrong_api_key_is_401(
    make_client: ClientFactory, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    with make_client(api_key="secret") as client:
        for path in ("/v1/embeddings", "/api/embed"):
            response = client.post(path, json={"model": MODEL, "input": "a"}, headers=headers)
            assert_envelope(response, 401, None, "invalid_api_key")
        assert_envelope(client.get("/v1/models", headers=headers), 401, None, "invalid_api_key")


def test_queue_overflow_is_503_with_retry_after(
    make_client: ClientFactory, fake: FakeEmbedder
) -> None:
    fake.open.clear()  # hold the worker thread inside the model call
    answers: dict[str, Any] = {}
    with make_client(max_queue=1, max_wait_ms=0) as client:
        wait_until(lambda: fake.batches, "the warm-up batch to hold the worker")
        waiting = threading.Thread(
            target=lambda: answers.update(queued=embed(client, {"model": MODEL, "input": "a"}))
        )
        waiting.start()
        wait_until(
            lambda: "edgembed_queue_depth 1.0" in client.get("/metrics").text,
            "one request in the queue",
        )
        refused = embed(client, {"model": MODEL, "input": "b"})
        fake.open.set()
        waiting.join(timeout=10)
    assert_envelope(refused, 503, None, "server_overloaded")
    assert refused.headers["retry-after"] == "1"
    assert answers["queued"].status_code == 200


def test_engine_failure_is_a_clean_500(make_client: ClientFactory, fake: FakeEmbedder) -> None:
    def broken(ids: list[list[int]], batch_size: int = 32) -> Any:
        raise RuntimeError("onnxruntime exploded")

    with make_client() as client:
        fake.embed_ids = broken  # type: ignore[method-assign]
        response = embed(client, {"model": MODEL, "input": "a"})
    assert_envelope(response, 500)
    assert "onnxruntime" not in response.text


def test_a_huge_text_is_cut_to_its_characters_cap_before_tokenizing(
    make_client: ClientFactory, fake: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A text over 256 characters per token of the window (4,096 here) is cut to that many
    before the tokenizer sees it: counted as truncated, or refused with truncate false."""
    seen: list[int] = []
    tokenize = fake.tokenize

    def recording(texts: list[str], **kwargs: Any) -> list[list[int]]:
        seen.extend(map(len, texts))
        return tokenize(texts, **kwargs)

    monkeypatch.setattr(fake, "tokenize", recording)
    huge = "word " * 200_000  # 1 MB
    with make_client() as client:
        seen.clear()
        cut = embed(client, {"model": MODEL, "input": ["short", huge]})
        refused = embed(client, {"model": MODEL, "input": ["short", huge], "truncate": False})
    assert cut.status_code == 200 and cut.headers["X-Edgembed-Truncated"] == "1"
    assert max(seen) <= 16 * 256
    assert_envelope(refused, 400, "input", "context_length_exceeded")
    assert "input[1]" in refused.json()["error"]["message"]


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/v1/embeddings", {"model": MODEL, "input": "a", "dimensions": "4"}, "dimensions"),
        ("/v1/embeddings", {"model": MODEL, "input": "a", "truncate": "false"}, "truncate"),
        ("/v1/embeddings", {"model": MODEL, "input": "a", "truncate": 0}, "truncate"),
        ("/v1/embeddings", {"model": MODEL, "input": [1.5, 2]}, "input"),
        ("/api/embed", {"model": MODEL, "input": "a", "dimensions": 4.5}, "dimensions"),
        ("/v1/feedback", {"query": "q", "chunk_id": "c", "relevant": 1}, "relevant"),
        ("/v1/search", {"query": "q", "top_k": "5"}, "top_k"),
    ],
)
def test_values_of_the_wrong_type_are_refused_not_coerced(
    make_client: ClientFactory, tmp_path: Any, path: str, body: dict[str, Any], param: str
) -> None:
    with make_client(feedback_db=tmp_path / "f.db") as client:
        response = client.post(path, json=body)
    assert_envelope(response, 400, param, "invalid_request_body")
    assert f"`{param}" in response.json()["error"]["message"]


def test_a_number_without_a_fraction_is_an_integer(client: TestClient[Any]) -> None:
    """As JSON Schema says (the OpenAPI schema's `integer` takes 4.0)."""
    response = embed(client, {"model": MODEL, "input": [300.0, 301], "dimensions": 4.0})
    assert response.status_code == 200 and len(response.json()["data"][0]["embedding"]) == 4


HUGE = "x" * 7_000_000


@pytest.mark.parametrize(
    ("method", "path", "body", "headers"),
    [
        ("POST", "/v1/embeddings", {"model": HUGE, "input": "a"}, {}),
        ("POST", "/api/embed", {"model": HUGE, "input": "a"}, {}),
        ("POST", "/v1/embeddings", {"model": MODEL, "input": "a", "encoding_format": HUGE}, {}),
        ("POST", "/v1/embeddings", {"model": MODEL, "input": "a", "input_type": HUGE}, {}),
        ("POST", "/v1/embeddings", {"model": MODEL, "input": "a"}, {"Content-Type": HUGE[:60000]}),
        ("GET", "/v1/models/" + HUGE[:60000], None, {}),
        ("GET", "/nowhere/" + HUGE[:60000], None, {}),
        ("POST", "/health/" + HUGE[:60000], None, {}),
    ],
)
def test_no_error_echoes_a_huge_value_whole(
    client: TestClient[Any], method: str, path: str, body: Any, headers: dict[str, str]
) -> None:
    response = client.request(method, path, json=body, headers=headers)
    assert 400 <= response.status_code < 500
    assert len(response.content) < 2000, response.text[:300]


def test_memory_is_released_after_a_big_request_even_a_refused_one(
    make_client: ClientFactory, fake: FakeEmbedder
) -> None:
    """A big body leaves the heap fragmented; the server gives it back once idle."""
    body = {"model": MODEL, "input": ["word " * 20] * 2048, "truncate": False}  # 200 K chars
    with make_client() as client:
        assert embed(client, body).status_code == 400  # over the fake's 16 tokens
        wait_until(lambda: fake.releases, "the release after the big request", timeout=5)
