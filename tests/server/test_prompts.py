"""A model's prompts through the API: input_type, prompt_name and the :query/:document model
ids pick them, every response says which one applied, and nothing is guessed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from litestar.testing import TestClient

from edgembed.config import ServeSettings
from edgembed.server import create_app
from tests.server.conftest import LOCAL_URL, MODEL
from tests.server.fake import FakeEmbedder

E5 = {"query": "query: ", "document": "passage: "}


def _client(prompts: dict[str, str], **settings: Any) -> Iterator[TestClient[Any]]:
    fake = FakeEmbedder(prompts=prompts)
    with TestClient(create_app(ServeSettings(**settings), fake), base_url=LOCAL_URL) as client:
        yield client


@pytest.fixture()
def client() -> Iterator[TestClient[Any]]:
    yield from _client(E5)


def _embed(client: TestClient[Any], **body: Any) -> Any:
    return client.post(
        "/v1/embeddings", json={"model": MODEL, "input": ["reset my password"], **body}
    )


def _vector(response: Any) -> Any:
    return np.asarray(response.json()["data"][0]["embedding"])


def test_each_input_type_gets_its_prompt(client: TestClient[Any]) -> None:
    fake = FakeEmbedder(prompts=E5)
    query = _embed(client, input_type="query")
    document = _embed(client, input_type="document")
    plain = _embed(client)
    assert (query.headers["x-edgembed-prompt"], document.headers["x-edgembed-prompt"]) == (
        "query", "document",
    )  # fmt: skip
    assert plain.headers["x-edgembed-prompt"] == "none"  # no default prompt
    expected = fake.embed_ids(fake.tokenize(["reset my password"], prompt="query: "))[0]
    assert np.allclose(_vector(query), expected, atol=1e-6)
    assert not np.allclose(_vector(query), _vector(plain), atol=1e-3)
    assert not np.allclose(_vector(query), _vector(document), atol=1e-3)


def test_model_ids_pick_the_prompt_for_clients_that_cannot_send_fields(
    client: TestClient[Any],
) -> None:
    by_field = _embed(client, input_type="query")
    by_id = client.post(
        "/v1/embeddings", json={"model": f"{MODEL}:query", "input": ["reset my password"]}
    )
    assert by_id.status_code == 200 and by_id.headers["x-edgembed-prompt"] == "query"
    assert np.allclose(_vector(by_id), _vector(by_field))
    assert by_id.json()["model"] == f"{MODEL}@v1"
    ollama = client.post("/api/embed", json={"model": f"{MODEL}:document", "input": "x"})
    assert ollama.status_code == 200 and ollama.headers["x-edgembed-prompt"] == "document"


def test_prompt_name_names_a_prompt(client: TestClient[Any]) -> None:
    named = _embed(client, prompt_name="document")
    assert named.headers["x-edgembed-prompt"] == "document"
    assert np.allclose(_vector(named), _vector(_embed(client, input_type="document")))


@pytest.mark.parametrize(
    ("body", "param", "message"),
    [
        ({"prompt_name": "summary"}, "prompt_name", "no prompt named 'summary'"),
        ({"model": f"{MODEL}:query", "input_type": "document"}, "input_type", "embeds query texts"),
        ({"input_type": "passage"}, None, "input_type"),
    ],
)
def test_what_cannot_be_honoured_is_a_400(
    client: TestClient[Any], body: dict[str, Any], param: str | None, message: str
) -> None:
    response = _embed(client, **body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert message in error["message"] and (param is None or error["param"] == param)


def test_a_model_whose_prompts_are_for_other_tasks_refuses_input_types() -> None:
    for client in _client({"classification": "classify: "}):
        response = _embed(client, input_type="query")
        assert response.status_code == 400 and "no prompt for queries" in response.text
        assert _embed(client, prompt_name="classification").status_code == 200
        assert _embed(client).headers["x-edgembed-prompt"] == "none"


def test_token_ids_get_the_prompt_tokens_first(client: TestClient[Any]) -> None:
    fake = FakeEmbedder(prompts=E5)
    words = fake.tokenize(["reset my password"])[0][1:-1]
    by_ids = _embed(client, input=[words], input_type="query")
    assert np.allclose(_vector(by_ids), _vector(_embed(client, input_type="query")))


def test_models_lists_prompts_and_the_ids_that_select_them(client: TestClient[Any]) -> None:
    card, _version = client.get("/v1/models").json()["data"]
    assert card["prompts"] == E5 and card["default_prompt_name"] is None
    assert card["input_types"] == {
        "query": {"prompt_name": "query", "model": f"{MODEL}:query"},
        "document": {"prompt_name": "document", "model": f"{MODEL}:document"},
    }
    assert client.get(f"/v1/models/{MODEL}:query").status_code == 200


def test_queries_by_model_id_are_logged_as_queries(tmp_path: Path) -> None:
    log = tmp_path / "queries.jsonl"
    for client in _client(E5, log_queries=log):
        client.post("/v1/embeddings", json={"model": f"{MODEL}:query", "input": ["asked"]})
        client.post("/v1/embeddings", json={"model": f"{MODEL}:document", "input": ["indexed"]})
    assert [json.loads(line)["text"] for line in log.read_text().splitlines()] == ["asked"]
