"""POST /v1/rerank (Cohere's and Jina's shape) and /rerank (text-embeddings-inference's): a
cross-encoder served beside the embedder or alone, with the embedder's limits and envelope."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from edgembed.config import ServeSettings
from edgembed.corpus import Chunk, write_chunks
from edgembed.server import create_app
from tests.server.conftest import LOCAL_URL, MODEL
from tests.server.fake import FakeEmbedder, FakeReranker

RERANKER = "fake-reranker"
DOCS = [
    "Travel is booked in the portal.",
    "Unused vacation days carry over to March.",
    "Vacation days: five carry over, the rest expire.",
]
QUERY = "do vacation days carry over"


def _client(embedder: FakeEmbedder | None, **settings: Any) -> Iterator[TestClient[Any]]:
    app = create_app(ServeSettings(**settings), embedder, reranker=FakeReranker())
    with TestClient(app, base_url=LOCAL_URL) as client:
        yield client


@pytest.fixture()
def both() -> Iterator[TestClient[Any]]:
    yield from _client(FakeEmbedder())


@pytest.fixture()
def alone() -> Iterator[TestClient[Any]]:
    yield from _client(None)


def test_rerank_answers_in_cohere_and_jina_shape(both: TestClient[Any]) -> None:
    body = {"model": RERANKER, "query": QUERY, "documents": DOCS, "return_documents": True}
    response = both.post("/v1/rerank", json=body)
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["model"] == RERANKER and data["id"] and data["usage"]["total_tokens"] > 0
    results = data["results"]
    assert [r["index"] for r in results] == [1, 2, 0]  # best first
    assert results[0]["document"] == {"text": DOCS[1]}
    scores = [r["relevance_score"] for r in results]
    assert scores == sorted(scores, reverse=True) and all(0 < s < 1 for s in scores)


def test_top_n_objects_and_the_v2_path(both: TestClient[Any]) -> None:
    documents = [{"text": doc, "title": "ignored"} for doc in DOCS]
    response = both.post(
        "/v2/rerank", json={"model": RERANKER, "query": QUERY, "documents": documents, "top_n": 1}
    )
    (result,) = response.json()["results"]
    assert result["index"] == 1 and "document" not in result


def test_tei_rerank(both: TestClient[Any]) -> None:
    scores = both.post("/rerank", json={"query": QUERY, "texts": DOCS, "return_text": True}).json()
    assert [r["index"] for r in scores] == [1, 2, 0] and scores[0]["text"] == DOCS[1]
    raw = both.post("/rerank", json={"query": QUERY, "texts": DOCS, "raw_scores": True}).json()
    assert raw[0]["score"] > 0 > raw[-1]["score"]  # logits: the sigmoid undone


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        ({"model": RERANKER, "query": QUERY, "documents": []}, 400, "documents"),
        ({"model": RERANKER, "query": "  ", "documents": DOCS}, 400, "query"),
        ({"model": RERANKER, "query": QUERY, "documents": ["ok", " "]}, 400, "documents"),
        ({"model": RERANKER, "query": QUERY, "documents": ["d"] * 10_000}, 400, "documents"),
        ({"model": RERANKER, "documents": DOCS}, 400, "query"),
        ({"model": "nope", "query": QUERY, "documents": DOCS}, 404, "model"),
    ],
)
def test_bad_reranks_are_4xx_in_openais_envelope(
    both: TestClient[Any], body: dict[str, Any], status: int, param: str
) -> None:
    response = both.post("/v1/rerank", json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["param"] == param and error["message"]


def test_a_pair_over_the_window_is_refused_without_truncation(both: TestClient[Any]) -> None:
    long = " ".join(["word"] * 200)
    body = {"model": RERANKER, "query": QUERY, "documents": [long], "truncate": False}
    response = both.post("/v1/rerank", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "context_length_exceeded"
    assert both.post("/v1/rerank", json={**body, "truncate": True}).status_code == 200


def test_a_reranker_alone_says_where_embeddings_are(alone: TestClient[Any]) -> None:
    response = alone.post("/v1/embeddings", json={"model": MODEL, "input": "x"})
    assert response.status_code == 404 and "/v1/rerank" in response.json()["error"]["message"]
    assert alone.post("/rerank", json={"query": QUERY, "texts": DOCS}).status_code == 200
    cards = alone.get("/v1/models").json()["data"]
    assert [(c["id"], c["kind"]) for c in cards] == [(RERANKER, "reranker")]


def test_both_models_are_listed_health_and_ready(both: TestClient[Any]) -> None:
    cards = both.get("/v1/models").json()["data"]
    assert [(c["id"], c["kind"]) for c in cards] == [
        (MODEL, "embedder"),
        (f"{MODEL}@v1", "embedder"),
        (RERANKER, "reranker"),
    ]
    assert both.get(f"/v1/models/{RERANKER}").json()["kind"] == "reranker"
    assert both.get("/health").json()["models"] == [MODEL, RERANKER]


def test_the_api_key_guards_rerank() -> None:
    for client in _client(FakeEmbedder(), api_key="secret"):
        body = {"model": RERANKER, "query": QUERY, "documents": DOCS}
        assert client.post("/v1/rerank", json=body).status_code == 401
        assert client.post("/rerank", json={"query": QUERY, "texts": DOCS}).status_code == 401
        ok = client.post("/v1/rerank", json=body, headers={"Authorization": "Bearer secret"})
        assert ok.status_code == 200


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    chunks = [
        Chunk(f"c{i}", "pto.md", "PTO", "", text, len(text.split()), i)
        for i, text in enumerate(DOCS)
    ]
    write_chunks(tmp_path / "chunks.jsonl", chunks)
    return tmp_path / "chunks.jsonl"


def test_search_runs_the_stages_the_operator_turned_on(corpus: Path) -> None:
    for client in _client(FakeEmbedder(), corpus=corpus, hybrid_weight=0.5):
        deadline = time.monotonic() + 10
        while not (info := client.get("/v1/playground").json())["indexed"]:
            assert time.monotonic() < deadline, "the corpus was never indexed"
            time.sleep(0.01)
        assert info["stages"] == ["dense", "hybrid", "rerank"]
        data = client.post("/v1/search", json={"query": QUERY, "top_k": 3}).json()
        (served,) = data["results"]
        assert [s["name"] for s in served["stages"]] == ["dense", "hybrid", "rerank"]
        assert all(s["took_ms"] >= 0 for s in served["stages"])
        assert [h["chunk_id"] for h in served["hits"]][0] == "c1"
        assert {h["scored_by"] for h in served["hits"]} == {"rerank"}
