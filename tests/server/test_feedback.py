"""POST /v1/feedback: rows stored in SQLite before the answer; bad input gets OpenAI's 400."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from edgembed.errors import ConfigError
from edgembed.server.feedback import FeedbackStore
from tests.server.conftest import ClientFactory

GOOD = {"query": "how do I reset my password", "chunk_id": "a1b2", "relevant": True}


def _rows(path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute(
            "SELECT id, query, chunk_id, passage, relevant, model FROM feedback ORDER BY id"
        ).fetchall()


def test_feedback_is_stored(make_client: ClientFactory, tmp_path: Path) -> None:
    db = tmp_path / "data" / "feedback.db"
    with make_client(feedback_db=db) as client:
        first = client.post("/v1/feedback", json=GOOD)
        second = client.post(
            "/v1/feedback",
            json={"query": "q2", "passage": "Some text.", "relevant": False, "model": "base"},
        )
    assert first.status_code == 200 and first.json() == {"object": "feedback", "id": 1}
    assert second.json()["id"] == 2
    assert _rows(db) == [
        (1, GOOD["query"], "a1b2", None, 1, None),
        (2, "q2", None, "Some text.", 0, "base"),
    ]
    with sqlite3.connect(db) as check:
        assert check.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert check.execute("PRAGMA user_version").fetchone()[0] == 1


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"chunk_id": "a", "relevant": True}, "query"),
        ({**GOOD, "query": ""}, "query"),
        ({**GOOD, "query": "   "}, "query"),
        ({**GOOD, "query": "x" * 4001}, "query"),
        ({"query": "q", "relevant": True}, "chunk_id"),
        ({"query": "q", "chunk_id": " ", "relevant": True}, "chunk_id"),
        ({"query": "q", "chunk_id": "a"}, "relevant"),
        ({**GOOD, "relevant": "yes"}, "relevant"),
        ({**GOOD, "answered": True}, None),
        ([GOOD], None),
    ],
)
def test_bad_feedback_is_a_400(
    make_client: ClientFactory, tmp_path: Path, body: Any, param: str | None
) -> None:
    db = tmp_path / "feedback.db"
    with make_client(feedback_db=db) as client:
        response = client.post("/v1/feedback", json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    if isinstance(body, dict) and " " in body.values():
        assert "got only spaces" in error["message"]
    if param:
        assert error["param"] == param
    assert _rows(db) == []


def test_malformed_json_is_a_400(make_client: ClientFactory, tmp_path: Path) -> None:
    with make_client(feedback_db=tmp_path / "f.db") as client:
        response = client.post(
            "/v1/feedback", content=b"{not json", headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_feedback_needs_the_api_key(make_client: ClientFactory, tmp_path: Path) -> None:
    with make_client(feedback_db=tmp_path / "f.db", api_key="s3cret") as client:
        assert client.post("/v1/feedback", json=GOOD).status_code == 401
        authorized = {"Authorization": "Bearer s3cret"}
        assert client.post("/v1/feedback", json=GOOD, headers=authorized).status_code == 200


def test_feedback_is_off_by_default(make_client: ClientFactory) -> None:
    with make_client() as client:
        response = client.post("/v1/feedback", json=GOOD)
    assert response.status_code == 404
    assert "--feedback-db" in response.json()["error"]["message"]


def test_rows_survive_reopening(tmp_path: Path) -> None:
    import asyncio

    from edgembed.server.schemas import FeedbackRequest

    db = tmp_path / "f.db"
    store = FeedbackStore(db)
    asyncio.run(store.add(FeedbackRequest(query="q", relevant=True, chunk_id="c")))
    store.close()
    reopened = FeedbackStore(db)
    assert reopened.count() == 1
    reopened.close()


def test_a_database_of_another_format_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "f.db"
    with sqlite3.connect(db) as other:
        other.execute("PRAGMA user_version=7")
    with pytest.raises(ConfigError, match="format 7"):
        FeedbackStore(db)


def test_an_unwritable_path_fails_at_start(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    with pytest.raises(ConfigError, match="--feedback-db"):
        FeedbackStore(tmp_path / "taken")


def test_the_files_are_private_to_the_server_user(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    db, log = tmp_path / "f.db", tmp_path / "q.jsonl"
    with make_client(feedback_db=db, log_queries=log) as client:
        assert client.post("/v1/feedback", json=GOOD).status_code == 200
    for path in (db, log, tmp_path / "f.db-wal"):
        if path.exists():
            assert path.stat().st_mode & 0o077 == 0, path


def test_the_store_is_capped_with_a_clear_409(make_client: ClientFactory, tmp_path: Path) -> None:
    db = tmp_path / "feedback.db"
    row = {"query": "q", "passage": "p" * 20_000, "relevant": True}
    with make_client(feedback_db=db, feedback_max_mb=0.25) as client:
        answers = [client.post("/v1/feedback", json=row) for _ in range(30)]
    statuses = [answer.status_code for answer in answers]
    stored = statuses.count(200)
    assert 5 < stored < 15 and set(statuses[stored:]) == {409}, statuses
    error = answers[-1].json()["error"]
    assert error["code"] == "feedback_full" and "--feedback-max-mb" in error["message"]
    assert len(_rows(db)) == stored
    assert db.stat().st_size <= 0.25 * 1024 * 1024
