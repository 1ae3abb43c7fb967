"""The query log: only texts marked as queries are kept, durably, under a size cap."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from edgembed.client import EdgembedEmbeddings
from edgembed.config import ServeSettings
from edgembed.errors import ConfigError
from edgembed.server.querylog import QueryLog, logged_texts
from tests.server.conftest import (
    MODEL,
    ClientFactory,
    real_export,  # noqa: F401  (the session export fixture)
)
from tests.server.live import live_server


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_only_queries_are_logged(make_client: ClientFactory, tmp_path: Path) -> None:
    log = tmp_path / "logs" / "queries.jsonl"
    with make_client(log_queries=log) as client:
        for input_type, texts in [
            ("query", ["how do I reset my password"]),
            ("document", ["a passage of the manual"]),
            (None, ["an openai SDK request"]),
            ("query", ["two", "queries"]),
        ]:
            body = {"model": MODEL, "input": texts}
            if input_type:
                body["input_type"] = input_type
            assert client.post("/v1/embeddings", json=body).status_code == 200
        ollama = {"model": MODEL, "input": "from ollama", "input_type": "query"}
        assert client.post("/api/embed", json=ollama).status_code == 200
    rows = _lines(log)
    assert [row["text"] for row in rows] == [
        "how do I reset my password",
        "two",
        "queries",
        "from ollama",
    ]
    assert {row["model"] for row in rows} == {f"{MODEL}@v1"}
    assert all(row["time"].endswith("+00:00") for row in rows)


def test_nothing_is_logged_without_the_option(make_client: ClientFactory, tmp_path: Path) -> None:
    with make_client() as client:
        body = {"model": MODEL, "input": "q", "input_type": "query"}
        assert client.post("/v1/embeddings", json=body).status_code == 200
    assert list(tmp_path.iterdir()) == []


def test_a_bad_input_type_is_a_400(make_client: ClientFactory) -> None:
    with make_client() as client:
        body = {"model": MODEL, "input": "q", "input_type": "passage"}
        response = client.post("/v1/embeddings", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "input_type"


def test_token_ids_are_never_logged() -> None:
    assert logged_texts([[1, 2, 3]], "query") == []
    assert logged_texts("text", "query") == ["text"]
    assert logged_texts("text", None) == []


def test_a_full_log_is_rotated(tmp_path: Path) -> None:
    path = tmp_path / "queries.jsonl"
    log = QueryLog(path, max_bytes=300)
    for index in range(20):
        log.append([f"question number {index}"], "m")
    rotated = path.with_name("queries.jsonl.1")
    assert path.stat().st_size <= 300 and rotated.stat().st_size <= 300
    texts = [row["text"] for row in _lines(rotated) + _lines(path)]
    assert texts[-1] == "question number 19"
    assert texts == [f"question number {i}" for i in range(20 - len(texts), 20)]


def test_an_unwritable_log_fails_at_start(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    with pytest.raises(ConfigError, match="--log-queries"):
        QueryLog(tmp_path / "taken", max_bytes=1000)


def test_settings_refuse_a_zero_cap() -> None:
    with pytest.raises(ConfigError, match="log_queries_max_mb"):
        ServeSettings(log_queries_max_mb=0)


@pytest.mark.slow
def test_a_live_server_logs_only_the_clients_queries(
    real_export: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    from openai import OpenAI

    log = tmp_path / "queries.jsonl"
    with live_server(real_export, "--log-queries", str(log)) as server:
        client = EdgembedEmbeddings(server.url)
        client.embed_query("where is the vpn guide")
        client.embed_documents(["the vpn guide is on the wiki", "a second passage"])
        sdk = OpenAI(base_url=server.url + "/v1", api_key="unused")
        sdk.embeddings.create(model=client.model_id(), input=["an SDK text, no input_type"])
        assert server.stop()
    rows = _lines(log)
    assert [row["text"] for row in rows] == ["where is the vpn guide"]
    assert rows[0]["model"] == f"{client.model_id()}@v1"
