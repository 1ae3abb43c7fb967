"""POST /v1/embeddings: OpenAI's contract, in-process against the fake embedder."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import pytest
from litestar.testing import TestClient

from tests.server.conftest import MODEL, ClientFactory, embed
from tests.server.fake import CLS, SEP, FakeEmbedder


def vectors_of(response: Any) -> np.ndarray:
    return np.array([item["embedding"] for item in response.json()["data"]], dtype=np.float32)


def test_list_of_texts_matches_the_engine(client: TestClient[Any], fake: FakeEmbedder) -> None:
    texts = ["how do I reset my password", "billing address", "a"]
    response = embed(client, {"model": MODEL, "input": texts})
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "list" and body["model"] == f"{MODEL}@v1"
    assert response.headers["X-Edgembed-Model"] == f"{MODEL}@v1"
    assert [item["index"] for item in body["data"]] == [0, 1, 2]
    assert all(item["object"] == "embedding" for item in body["data"])
    np.testing.assert_allclose(vectors_of(response), fake.embed(texts), atol=1e-6)
    tokens = sum(map(len, fake.tokenize(texts)))
    assert body["usage"] == {"prompt_tokens": tokens, "total_tokens": tokens}
    assert response.headers["x-edgembed-truncated"] == "0"


def test_single_string_gives_one_embedding(client: TestClient[Any], fake: FakeEmbedder) -> None:
    response = embed(client, {"model": MODEL, "input": "hello world"})
    assert len(response.json()["data"]) == 1
    np.testing.assert_allclose(vectors_of(response)[0], fake.embed(["hello world"])[0], atol=1e-6)
    assert response.json()["usage"]["prompt_tokens"] == 4  # [CLS] hello world [SEP]


def test_token_ids_are_wrapped_in_special_tokens(
    client: TestClient[Any], fake: FakeEmbedder
) -> None:
    """A text and its content token ids give the same vector and the same token count."""
    content = fake.tokenize(["reset my password"])[0][1:-1]
    as_text = embed(client, {"model": MODEL, "input": "reset my password"})
    as_ids = embed(client, {"model": MODEL, "input": content})
    as_lists = embed(client, {"model": MODEL, "input": [content, content[:1]]})
    np.testing.assert_allclose(vectors_of(as_ids), vectors_of(as_text), atol=1e-6)
    np.testing.assert_allclose(vectors_of(as_lists)[0], vectors_of(as_text)[0], atol=1e-6)
    expected = fake.embed_ids([[CLS, content[0], SEP]])[0]
    np.testing.assert_allclose(vectors_of(as_lists)[1], expected, atol=1e-6)
    assert as_ids.json()["usage"]["prompt_tokens"] == len(content) + 2


def test_base64_is_little_endian_float32(client: TestClient[Any], fake: FakeEmbedder) -> None:
    response = embed(client, {"model": MODEL, "input": ["a b", "c"], "encoding_format": "base64"})
    decoded = [
        np.frombuffer(base64.b64decode(item["embedding"]), dtype="<f4")
        for item in response.json()["data"]
    ]
    np.testing.assert_array_equal(np.stack(decoded), fake.embed(["a b", "c"]))


@pytest.mark.parametrize("encoding_format", ["float", "base64"])
def test_dimensions_truncate_and_renormalise(
    client: TestClient[Any], fake: FakeEmbedder, encoding_format: str
) -> None:
    response = embed(
        client,
        {"model": MODEL, "input": "a b c", "dimensions": 5, "encoding_format": encoding_format},
    )
    item = response.json()["data"][0]["embedding"]
    vector = np.frombuffer(base64.b64decode(item), "<f4") if isinstance(item, str) else item
    full = fake.embed(["a b c"])[0][:5]
    np.testing.assert_allclose(vector, full / np.linalg.norm(full), atol=1e-6)
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-6)


def test_full_dimensions_are_the_plain_vector(client: TestClient[Any], fake: FakeEmbedder) -> None:
    response = embed(client, {"model": MODEL, "input": "a", "dimensions": fake.dimension})
    np.testing.assert_allclose(vectors_of(response)[0], fake.embed(["a"])[0], atol=1e-6)


def test_long_inputs_are_truncated_and_counted(client: TestClient[Any], fake: FakeEmbedder) -> None:
    long_text = " ".join(f"w{i}" for i in range(40))
    exact = " ".join(f"w{i}" for i in range(fake.max_seq_length - 2))  # fills the limit, not cut
    response = embed(client, {"model": MODEL, "input": [long_text, exact, "short"]})
    assert response.status_code == 200
    assert response.headers["x-edgembed-truncated"] == "1"
    np.testing.assert_allclose(vectors_of(response)[0], fake.embed([long_text])[0], atol=1e-6)
    assert response.json()["usage"]["prompt_tokens"] == 16 + 16 + 3


def test_long_token_ids_are_truncated_before_the_last_special_token(
    client: TestClient[Any], fake: FakeEmbedder
) -> None:
    ids = list(range(300, 340))
    response = embed(client, {"model": MODEL, "input": [ids]})
    assert response.headers["x-edgembed-truncated"] == "1"
    expected = fake.embed_ids([[CLS, *ids[: fake.max_seq_length - 2], SEP]])[0]
    np.testing.assert_allclose(vectors_of(response)[0], expected, atol=1e-6)


def test_server_wide_no_truncate_can_be_overridden(make_client: ClientFactory) -> None:
    long_text = " ".join(f"w{i}" for i in range(40))
    with make_client(truncate=False) as client:
        refused = embed(client, {"model": MODEL, "input": long_text})
        allowed = embed(client, {"model": MODEL, "input": long_text, "truncate": True})
        card = client.get("/v1/models").json()["data"][0]
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "context_length_exceeded"
    assert allowed.status_code == 200 and allowed.headers["x-edgembed-truncated"] == "1"
    assert "refused with 400" in card["truncation"]


def test_model_name_can_be_renamed(make_client: ClientFactory) -> None:
    with make_client(model_name="support-embed") as client:
        ok = embed(client, {"model": "support-embed", "input": "a"})
        old = embed(client, {"model": MODEL, "input": "a"})
    assert ok.json()["model"] == "support-embed@v1"
    assert old.status_code == 404


def test_user_and_unknown_fields_are_accepted(client: TestClient[Any]) -> None:
    response = embed(client, {"model": MODEL, "input": "a", "user": "u-1", "extra": 1})
    assert response.status_code == 200


def test_max_inputs_is_accepted_exactly(make_client: ClientFactory) -> None:
    with make_client(max_inputs=2048) as client:
        response = embed(client, {"model": MODEL, "input": [f"text {i}" for i in range(2048)]})
    assert response.status_code == 200
    assert len(response.json()["data"]) == 2048
    assert [item["index"] for item in response.json()["data"]] == list(range(2048))


def test_a_body_is_decoded_once(client: TestClient[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """The strict decoding before the route is the only one: Litestar takes its result."""
    import litestar.connection.request as litestar_request

    calls: list[bytes] = []
    decode = litestar_request.decode_json

    def counting(value: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(value)
        return decode(value, *args, **kwargs)

    monkeypatch.setattr(litestar_request, "decode_json", counting)
    assert embed(client, {"model": MODEL, "input": ["a", "b"]}).status_code == 200
    assert calls == []
