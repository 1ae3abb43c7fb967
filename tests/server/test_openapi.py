"""The published OpenAPI schema says what the server does: its error shape, every status it
answers, its auth scheme, and which `input` values it accepts."""

from __future__ import annotations

import json
import time
from typing import Any

import jsonschema
import pytest

from tests.server.conftest import MODEL, ClientFactory, embed

EMBED_ROUTES = ["/v1/embeddings", "/api/embed"]


def published(make_client: ClientFactory, **settings: Any) -> dict[str, Any]:
    with make_client(**settings) as client:
        schema: dict[str, Any] = client.get("/docs/openapi.json").json()
    return schema


def request_validator(schema: dict[str, Any], name: str) -> jsonschema.Validator:
    """A validator for the request body `name`, resolving refs inside the published schema."""
    body = {**schema["components"]["schemas"][name], "components": schema["components"]}
    return jsonschema.Draft202012Validator(body)


@pytest.mark.parametrize("path", EMBED_ROUTES)
def test_every_error_status_is_documented_in_the_envelope(
    make_client: ClientFactory, path: str
) -> None:
    responses = published(make_client)["paths"][path]["post"]["responses"]
    assert set(responses) == {"200", "400", "401", "404", "413", "415", "421", "500", "503"}
    for status, response in responses.items():
        if status != "200":
            content = response["content"]["application/json"]["schema"]
            assert content == {"$ref": "#/components/schemas/ErrorEnvelope"}, status
    assert "X-Edgembed-Truncated" in responses["200"]["headers"]


def test_other_routes_document_their_errors(make_client: ClientFactory) -> None:
    paths = published(make_client, api_key="secret")["paths"]  # keyless adds 421 everywhere
    assert set(paths["/v1/models"]["get"]["responses"]) == {"200", "401"}
    assert set(paths["/v1/models/{model}"]["get"]["responses"]) == {"200", "400", "401", "404"}
    assert set(paths["/ready"]["get"]["responses"]) == {"200", "503"}
    assert set(paths["/health"]["get"]["responses"]) == {"200", "503"}
    envelope = paths["/v1/models/{model}"]["get"]["responses"]["400"]["content"]
    assert envelope["application/json"]["schema"]["$ref"].endswith("/ErrorEnvelope")


def test_bearer_scheme_is_declared_only_when_a_key_is_required(
    make_client: ClientFactory,
) -> None:
    keyed = published(make_client, api_key="secret")
    open_ = published(make_client)
    scheme = keyed["components"]["securitySchemes"]["apiKey"]
    assert scheme == {**scheme, "type": "http", "scheme": "bearer"}
    assert keyed["paths"]["/v1/embeddings"]["post"]["security"] == [{"apiKey": []}]
    assert "security" not in keyed["paths"]["/health"]["get"]
    assert "securitySchemes" not in open_["components"]
    assert "security" not in open_["paths"]["/v1/embeddings"]["post"]


@pytest.mark.parametrize(
    "value", ["", [], [""], ["a", ""], [[]], [[1], []], [-1], [[3, -2]], ["a", 1], 7, None]
)
def test_inputs_the_server_refuses_are_schema_invalid(
    make_client: ClientFactory, value: Any
) -> None:
    schema = published(make_client)
    validator = request_validator(schema, "EmbeddingRequest")
    body = {"model": MODEL, "input": value}
    assert not validator.is_valid(body)
    with make_client() as client:
        assert embed(client, body).status_code == 400


@pytest.mark.parametrize("value", ["a", ["a", "b"], [1, 2], [[1], [2, 3]]])
def test_inputs_the_server_accepts_are_schema_valid(make_client: ClientFactory, value: Any) -> None:
    schema = published(make_client)
    body = {"model": MODEL, "input": value, "dimensions": 4}
    assert request_validator(schema, "EmbeddingRequest").is_valid(body)
    with make_client() as client:
        assert embed(client, body).status_code == 200


@pytest.mark.parametrize(("value", "valid"), [("a", True), (["a"], True), ("", False), ([], False)])
def test_ollama_input_schema(make_client: ClientFactory, value: Any, valid: bool) -> None:
    validator = request_validator(published(make_client), "OllamaEmbedRequest")
    assert validator.is_valid({"model": MODEL, "input": value}) is valid
    assert validator.is_valid({"model": MODEL, "input": "a", "dimensions": 0}) is False


@pytest.mark.parametrize("name", ["EmbeddingRequest", "OllamaEmbedRequest"])
def test_dimensions_is_bounded_by_the_model(make_client: ClientFactory, name: str) -> None:
    validator = request_validator(published(make_client), name)
    assert validator.is_valid({"model": MODEL, "input": "a", "dimensions": 16})
    assert not validator.is_valid({"model": MODEL, "input": "a", "dimensions": 17})


FEEDBACK = {"query": "q", "relevant": True}


@pytest.mark.parametrize(
    ("name", "path", "body", "valid"),
    [
        ("FeedbackRequest", "/v1/feedback", {**FEEDBACK, "chunk_id": "c"}, True),
        ("FeedbackRequest", "/v1/feedback", {**FEEDBACK, "passage": "p"}, True),
        ("FeedbackRequest", "/v1/feedback", {**FEEDBACK, "chunk_id": None, "passage": "p"}, True),
        ("FeedbackRequest", "/v1/feedback", FEEDBACK, False),
        ("FeedbackRequest", "/v1/feedback", {**FEEDBACK, "chunk_id": ""}, False),
        ("FeedbackRequest", "/v1/feedback", {**FEEDBACK, "chunk_id": " "}, False),
        ("FeedbackRequest", "/v1/feedback", {**FEEDBACK, "chunk_id": "c", "passage": ""}, False),
        ("FeedbackRequest", "/v1/feedback", {**FEEDBACK, "query": " ", "chunk_id": "c"}, False),
        ("FeedbackRequest", "/v1/feedback", {**FEEDBACK, "chunk_id": "c", "answered": 1}, False),
        ("SearchRequest", "/v1/search", {"query": "q"}, True),
        ("SearchRequest", "/v1/search", {"query": "\t "}, False),
        ("SearchRequest", "/v1/search", {"query": "q", "k": 5}, False),
    ],
)
def test_the_schema_refuses_what_the_routes_refuse(
    make_client: ClientFactory,
    tmp_path: Any,
    name: str,
    path: str,
    body: dict[str, Any],
    valid: bool,
) -> None:
    corpus = tmp_path / "chunks.jsonl"
    chunk = {"id": "c", "doc": "d.md", "title": "T", "section": "S", "text": "some text"}
    corpus.write_text(json.dumps({**chunk, "words": 2, "position": 0}) + "\n")
    settings = {"feedback_db": tmp_path / "f.db", "corpus": corpus}
    assert request_validator(published(make_client, **settings), name).is_valid(body) is valid
    with make_client(**settings) as client:
        for _ in range(200):  # the corpus is embedded in the background
            status = client.post(path, json=body).status_code
            if status != 503:
                break
            time.sleep(0.01)
    assert (status == 200) is valid, status


def test_a_keyless_server_documents_its_421(make_client: ClientFactory) -> None:
    for route in published(make_client)["paths"].values():
        for operation in route.values():
            assert "421" in operation["responses"]
    keyed = published(make_client, api_key="secret")["paths"]
    assert "421" not in keyed["/v1/embeddings"]["post"]["responses"]
