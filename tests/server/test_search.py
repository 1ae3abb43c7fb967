"""POST /v1/search, GET /v1/playground and the page at /, over the fake embedder."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from edgembed.config import ServeSettings
from edgembed.server import create_app
from edgembed.server.search import _Progress
from tests.server.conftest import LOCAL_URL
from tests.server.fake import FakeEmbedder

TEXTS = [
    "reset your password from the login page",
    "the vpn needs a token from the app",
    "printers on floor two use the blue queue",
]


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "chunks.jsonl"
    rows = [
        {
            "id": f"c{index}",
            "doc": f"doc{index}.md",
            "title": f"Doc {index}",
            "section": "Intro",
            "text": text,
            "words": len(text.split()),
            "position": 0,
        }
        for index, text in enumerate(TEXTS)
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def _open(settings: ServeSettings, compare: FakeEmbedder | None = None) -> TestClient[Any]:
    return TestClient(create_app(settings, FakeEmbedder(), compare=compare), base_url=LOCAL_URL)


def _wait_indexed(client: TestClient[Any], **headers: str) -> dict[str, Any]:
    for _ in range(200):
        info: dict[str, Any] = client.get("/v1/playground", headers=headers).json()
        if info["indexed"]:
            return info
        time.sleep(0.01)
    raise AssertionError("the corpus was not indexed")


@pytest.fixture()
def searching(corpus: Path, tmp_path: Path) -> Iterator[TestClient[Any]]:
    settings = ServeSettings(
        corpus=corpus,
        feedback_db=tmp_path / "f.db",
        log_queries=tmp_path / "q.jsonl",
        hybrid_weight=0,  # the dense ranking alone: scores are cosines
    )
    other = FakeEmbedder(dimension=8)
    other.model_name = "base-model"
    with _open(settings, compare=other) as client:
        _wait_indexed(client)
        yield client


def test_search_ranks_the_corpus_with_both_models(
    searching: TestClient[Any], tmp_path: Path
) -> None:
    response = searching.post("/v1/search", json={"query": TEXTS[1], "top_k": 2})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [(r["model"], r["role"]) for r in body["results"]] == [
        ("fake-model@v1", "served"),
        ("base-model", "compare"),
    ]
    for result in body["results"]:
        hits = result["hits"]
        assert [hit["rank"] for hit in hits] == [1, 2]
        assert hits[0]["chunk_id"] == "c1" and hits[0]["score"] == pytest.approx(1, abs=1e-3)
        assert hits[0]["score"] >= hits[1]["score"]
        assert hits[0]["title"] == "Doc 1" and hits[0]["text"] == TEXTS[1]
    logged = [json.loads(line) for line in (tmp_path / "q.jsonl").read_text().splitlines()]
    assert [row["text"] for row in logged] == [TEXTS[1]]


def test_search_fuses_bm25_in_by_default(corpus: Path) -> None:
    query = {"query": "blue queue printers", "top_k": 3}
    ranks = {}
    for label, settings in (("dense", {"hybrid_weight": 0}), ("bm25", {"hybrid_weight": 0.9})):
        with _open(ServeSettings(corpus=corpus, **settings)) as client:
            stages = _wait_indexed(client)["stages"]
            (served,) = client.post("/v1/search", json=query).json()["results"]
            assert [s["name"] for s in served["stages"]] == stages
            ranks[label] = [hit["chunk_id"] for hit in served["hits"]].index("c2")
            scores = [hit["score"] for hit in served["hits"]]
    assert stages == ["dense", "hybrid"]
    # Reciprocal rank fusion's scores, and BM25's clear first moves up in the ranking.
    assert max(scores) <= 1 / 61 and scores == sorted(scores, reverse=True)
    assert ranks["bm25"] < ranks["dense"]
    with _open(ServeSettings(corpus=corpus)) as client:  # the default: hybrid at 0.3
        assert _wait_indexed(client)["stages"] == ["dense", "hybrid"]
        (served,) = client.post("/v1/search", json=query).json()["results"]
        assert served["stages"][1]["detail"] == "BM25 weight 0.3"


def test_playground_info(searching: TestClient[Any]) -> None:
    info = searching.get("/v1/playground").json()
    assert info == {
        "models": ["fake-model@v1", "base-model"],
        "passages": 3,
        "indexed": True,
        "feedback": True,
        "stages": ["dense"],
        "marks": True,
    }


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"query": ""}, "query"),
        ({"query": "  "}, "query"),
        ({"query": "q", "top_k": 0}, "top_k"),
        ({"query": "q", "top_k": 51}, "top_k"),
        ({"top_k": 3}, "query"),
    ],
)
def test_bad_searches_are_a_400(
    searching: TestClient[Any], body: dict[str, Any], param: str
) -> None:
    response = searching.post("/v1/search", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param


def test_search_is_off_without_a_corpus() -> None:
    with _open(ServeSettings()) as client:
        response = client.post("/v1/search", json={"query": "q"})
        info = client.get("/v1/playground").json()
    assert response.status_code == 404
    assert "--corpus" in response.json()["error"]["message"]
    assert info == {
        "models": ["fake-model"], "passages": 0, "indexed": False, "feedback": False, "stages": [],
        "marks": False
    }  # fmt: skip


def test_search_waits_for_the_index(corpus: Path) -> None:
    engine = FakeEmbedder()
    engine.open.clear()  # hold the model thread: the passages cannot be embedded yet
    with TestClient(create_app(ServeSettings(corpus=corpus), engine), base_url=LOCAL_URL) as client:
        response = client.post("/v1/search", json={"query": "q"})
        engine.open.set()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    # It says how far the embedding is (the first call is held: none done yet).
    message = response.json()["error"]["message"]
    assert re.search(r"passages are still being embedded \((0 of \d+|starting)\)", message)


def test_the_embedding_progress_says_how_far_and_how_long() -> None:
    progress = _Progress(done=0, total=100_000, started=time.perf_counter() - 1000)
    assert str(progress) == "0 of 100,000"
    progress.done = 50_000
    assert str(progress) == "50,000 of 100,000, 50 a second, about 1000 s left"
    assert progress.due_to_log() and not progress.due_to_log()  # then a minute later
    assert not _Progress(done=0, total=10, started=time.perf_counter()).due_to_log()


def test_the_page_is_open_and_the_api_behind_the_key(corpus: Path) -> None:
    with _open(ServeSettings(corpus=corpus, api_key="s3cret")) as client:
        page = client.get("/")
        script = client.get("/static/playground.js")
        style = client.get("/static/playground.css")
        refused = client.post("/v1/search", json={"query": "q"})
        info = _wait_indexed(client, Authorization="Bearer s3cret")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert '<script src="/static/playground.js"' in page.text and "http" not in page.text
    assert script.status_code == 200 and "/v1/feedback" in script.text
    assert style.status_code == 200
    assert refused.status_code == 401
    assert info["passages"] == 3


def test_the_routes_document_their_errors(corpus: Path) -> None:
    with _open(ServeSettings(corpus=corpus, api_key="k")) as client:  # keyless adds 421
        paths = client.get("/docs/openapi.json").json()["paths"]
    assert set(paths["/v1/search"]["post"]["responses"]) == {
        "200",
        "400",
        "401",
        "404",
        "413",
        "415",
        "503",
    }
    assert set(paths["/v1/feedback"]["post"]["responses"]) == {
        "200",
        "400",
        "401",
        "404",
        "409",
        "413",
        "415",
        "500",
    }
    assert set(paths["/v1/playground"]["get"]["responses"]) == {"200", "401"}
    assert "/" not in paths


def test_metrics_count_searches_and_feedback(searching: TestClient[Any]) -> None:
    searching.post("/v1/search", json={"query": "vpn"})
    searching.post("/v1/feedback", json={"query": "vpn", "chunk_id": "c1", "relevant": True})
    metrics = searching.get("/metrics").text
    assert 'edgembed_requests_total{route="/v1/search",status="200"} 1.0' in metrics
    assert 'edgembed_requests_total{route="/v1/feedback",status="200"} 1.0' in metrics


def test_feedback_on_a_chunk_outside_the_corpus_is_refused(searching: TestClient[Any]) -> None:
    known = {"query": "vpn", "chunk_id": "c1", "relevant": True}
    assert searching.post("/v1/feedback", json=known).status_code == 200
    unknown = searching.post("/v1/feedback", json={**known, "chunk_id": "c9"})
    assert unknown.status_code == 400
    error = unknown.json()["error"]
    assert error["param"] == "chunk_id" and error["code"] == "unknown_chunk_id"
    assert "'c9'" in error["message"] and "passage" in error["message"]
    text_only = {"query": "vpn", "passage": "a passage from elsewhere", "relevant": False}
    assert searching.post("/v1/feedback", json=text_only).status_code == 200
