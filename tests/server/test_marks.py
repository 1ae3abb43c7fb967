"""GET /v1/marks/next: the logged queries a mark helps most, least sure first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from litestar.testing import TestClient

from edgembed.config import ServeSettings
from edgembed.server import create_app
from tests.server.conftest import LOCAL_URL
from tests.server.fake import FakeEmbedder
from tests.server.test_search import TEXTS, _wait_indexed, corpus  # noqa: F401 - a fixture

QUERIES = [
    TEXTS[0],  # word for word a passage: the model is sure
    "password token",  # between two passages
    "blue vpn printers",
    "login page queue",
]


def _margin(query: str) -> float:
    fake = FakeEmbedder()
    vectors = fake.embed_ids(fake.tokenize([query, *TEXTS]))
    scores = np.sort(vectors[1:] @ vectors[0])[::-1]
    return float(scores[0] - scores[1])


def _log(client: TestClient[Any], texts: list[str]) -> None:
    payload = {"model": "fake-model", "input": texts, "input_type": "query"}
    assert client.post("/v1/embeddings", json=payload).status_code == 200


def test_least_sure_queries_come_first_and_marked_ones_leave(corpus: Path, tmp_path: Path) -> None:  # noqa: F811
    settings = ServeSettings(
        corpus=corpus, log_queries=tmp_path / "q.jsonl", feedback_db=tmp_path / "f.db"
    )
    with TestClient(create_app(settings, FakeEmbedder()), base_url=LOCAL_URL) as client:
        _wait_indexed(client)
        _log(client, QUERIES)
        _log(client, [QUERIES[2]])  # asked twice
        first = client.get("/v1/marks/next", params={"limit": 10}).json()
        mark = {"query": first["data"][0]["query"], "chunk_id": "c1", "relevant": True}
        assert client.post("/v1/feedback", json=mark).status_code == 200
        second = client.get("/v1/marks/next", params={"limit": 2}).json()
    expected = sorted(QUERIES, key=_margin)
    assert [row["query"] for row in first["data"]] == expected
    assert [row["margin"] for row in first["data"]] == sorted(
        row["margin"] for row in first["data"]
    )
    assert first["data"][-1]["top"][0]["chunk_id"] == "c0"
    assert {row["query"]: row["asked"] for row in first["data"]}[QUERIES[2]] == 2
    assert first["candidates"] == 4 and first["model"] == "fake-model@v1"
    assert second["marked"] == 1 and [row["query"] for row in second["data"]] == expected[1:3]


def test_disagreement_with_the_compared_model_comes_first(corpus: Path, tmp_path: Path) -> None:  # noqa: F811
    settings = ServeSettings(
        corpus=corpus, log_queries=tmp_path / "q.jsonl", feedback_db=tmp_path / "f.db"
    )
    other = FakeEmbedder(version=3)
    other.model_name = "base-model"
    with TestClient(
        create_app(settings, FakeEmbedder(), compare=other), base_url=LOCAL_URL
    ) as client:
        _wait_indexed(client)
        _log(client, QUERIES)
        rows = client.get("/v1/marks/next").json()["data"]
    flags = [row["disagree"] for row in rows]
    assert flags == sorted(flags, reverse=True)  # every disagreement before any agreement
    assert flags.count(True) == 1  # the two fakes disagree on one of the queries
    tuned, base = FakeEmbedder(), FakeEmbedder(version=3)

    def best(model: FakeEmbedder, query: str) -> int:
        vectors = model.embed_ids(model.tokenize([query, *TEXTS]))
        return int(np.argmax(vectors[1:] @ vectors[0]))

    assert {row["query"] for row in rows if row["disagree"]} == {
        q for q in QUERIES if best(tuned, q) != best(base, q)
    }


def test_suggestions_say_what_the_server_lacks(make_client: Any) -> None:
    with make_client() as client:
        response = client.get("/v1/marks/next")
    assert response.status_code == 404 and response.json()["error"]["code"] == "marks_disabled"
    assert "--corpus" in response.json()["error"]["message"]
