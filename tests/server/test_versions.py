"""Model versions in service: NAME@vN ids, the default, switch, rollback, load and unload."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from litestar.testing import TestClient

from edgembed.config import ServeSettings
from edgembed.server import create_app
from tests.server.conftest import LOCAL_URL, MODEL
from tests.server.fake import FakeEmbedder
from tests.server.threaded import threaded_server
from tests.server.waiting import wait_until

TEXT = "how do I reset my password"


def _fake_export(path: Path) -> FakeEmbedder:
    """Load a 'folder' named NAME-vN as version N of the fake model."""
    if not path.name.startswith("fake-model-v"):
        raise ValueError("not an export of fake-model")
    return FakeEmbedder(version=int(path.name.rsplit("-v", 1)[1]))


@contextmanager
def _client(tmp_path: Path, *versions: int, **settings: Any) -> Iterator[TestClient[Any]]:
    embedders = [FakeEmbedder(version=number) for number in versions or (1,)]
    app = create_app(
        ServeSettings(versions_dir=tmp_path, **settings),
        embedders[0],
        versions=embedders[1:],
        load=_fake_export,
    )
    with TestClient(app, base_url=LOCAL_URL) as client:
        # Versions warm up after start; a switch before that is refused (409), as clients are
        # told. /ready answers 200 once every version has warmed up.
        wait_until(lambda: client.get("/ready").status_code == 200, "every version to warm up")
        yield client


def _vector(client: TestClient[Any], model: str) -> tuple[np.ndarray[Any, Any], str]:
    response = client.post("/v1/embeddings", json={"model": model, "input": TEXT})
    assert response.status_code == 200, response.text
    assert response.headers["x-edgembed-model"] == response.json()["model"]
    return np.array(response.json()["data"][0]["embedding"]), response.json()["model"]


def _truth(version: int) -> np.ndarray[Any, Any]:
    fake = FakeEmbedder(version=version)
    return fake.embed_ids(fake.tokenize([TEXT]))[0]


def test_each_version_answers_under_its_own_id(tmp_path: Path) -> None:
    with _client(tmp_path, 1, 2) as client:
        ids = [card["id"] for card in client.get("/v1/models").json()["data"]]
        assert ids == [MODEL, f"{MODEL}@v1", f"{MODEL}@v2"]
        default, by_name = _vector(client, MODEL)
        v2, v2_name = _vector(client, f"{MODEL}@v2")
        query = client.post("/v1/embeddings", json={"model": f"{MODEL}@v2:query", "input": TEXT})
        missing = client.post("/v1/embeddings", json={"model": f"{MODEL}@v3", "input": TEXT})
        ollama = client.post("/api/embed", json={"model": f"{MODEL}@v2", "input": TEXT})
        card = client.get(f"/v1/models/{MODEL}@v2").json()
    assert by_name == f"{MODEL}@v1" and np.allclose(default, _truth(1), atol=1e-6)
    assert v2_name == f"{MODEL}@v2" and np.allclose(v2, _truth(2), atol=1e-6)
    assert not np.allclose(_truth(1), _truth(2), atol=1e-3)  # the versions can be told apart
    assert query.status_code == 200 and query.json()["model"] == f"{MODEL}@v2"
    assert missing.status_code == 404 and f"{MODEL}@v2" in missing.json()["error"]["message"]
    assert ollama.headers["x-edgembed-model"] == f"{MODEL}@v2"
    assert card["version"] == 2 and card["input_types"]["query"]["model"] == f"{MODEL}@v2:query"


def test_switch_and_rollback_move_the_plain_name(tmp_path: Path) -> None:
    with _client(tmp_path, 1, 2) as client:
        nothing = client.post("/v1/versions/rollback", json={})
        switched = client.post("/v1/versions/default", json={"version": 2})
        after_switch = _vector(client, MODEL)[1]
        card = client.get(f"/v1/models/{MODEL}").json()
        back = client.post("/v1/versions/rollback", json={})
        after_rollback = _vector(client, MODEL)[1]
        unknown = client.post("/v1/versions/default", json={"version": 7})
    assert nothing.status_code == 409 and nothing.json()["error"]["code"] == "no_rollback"
    assert switched.status_code == 200
    assert (switched.json()["default"], switched.json()["previous"]) == (2, 1)
    assert after_switch == f"{MODEL}@v2" and card["version"] == 2 and card["versions"] == [1, 2]
    assert back.json()["default"] == 1 and after_rollback == f"{MODEL}@v1"
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "version_not_found"


def test_a_version_loads_while_serving_and_unloads(tmp_path: Path) -> None:
    (tmp_path / "fake-model-v2").mkdir()
    (tmp_path / "other").mkdir()
    with _client(tmp_path) as client:
        loaded = client.post("/v1/versions", json={"export": "fake-model-v2"})
        again = client.post("/v1/versions", json={"export": "fake-model-v2"})
        foreign = client.post("/v1/versions", json={"export": "other"})
        outside = client.post("/v1/versions", json={"export": "../etc"})
        missing = client.post("/v1/versions", json={"export": "fake-model-v9"})
        served = _vector(client, f"{MODEL}@v2")[0]
        default_unload = client.delete("/v1/versions/1")
        client.post("/v1/versions/default", json={"version": 2})
        unloaded = client.delete("/v1/versions/1")
        gone = client.post("/v1/embeddings", json={"model": f"{MODEL}@v1", "input": TEXT})
        listing = client.get("/v1/versions").json()
    assert loaded.status_code == 201, loaded.text
    assert loaded.json()["id"] == f"{MODEL}@v2" and loaded.json()["ready"] is True
    assert again.status_code == 409 and again.json()["error"]["code"] == "version_loaded"
    assert foreign.status_code == 422 and "not an export" in foreign.json()["error"]["message"]
    assert outside.status_code == 400 and outside.json()["error"]["param"] == "export"
    assert missing.status_code == 404
    assert np.allclose(served, _truth(2), atol=1e-6)
    assert default_unload.status_code == 409
    assert unloaded.status_code == 200 and gone.status_code == 404
    assert [card["version"] for card in listing["data"]] == [2] and listing["default"] == 2


def test_loading_is_off_without_a_loader(make_client: Any) -> None:
    with make_client() as client:
        response = client.post("/v1/versions", json={"export": "x"})
        listing = client.get("/v1/versions").json()
    assert response.status_code == 404 and "--version" in response.json()["error"]["message"]
    assert listing["can_load"] is False and listing["default"] == 1


def test_changing_versions_needs_the_key_or_this_machine(tmp_path: Path) -> None:
    with _client(tmp_path, 1, 2, api_key="secret") as client:
        refused = client.post("/v1/versions/default", json={"version": 2})
        allowed = client.post(
            "/v1/versions/default", json={"version": 2}, headers={"Authorization": "Bearer secret"}
        )
    assert refused.status_code == 401 and allowed.status_code == 200

    app = create_app(ServeSettings(), FakeEmbedder(), versions=[FakeEmbedder(version=2)])

    async def from_afar() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as remote:
            return await remote.post("/v1/versions/default", json={"version": 2})

    remote = asyncio.run(from_afar())
    assert remote.status_code == 403 and remote.json()["error"]["code"] == "admin_forbidden"


def _embed_over_http(url: str, model: str) -> tuple[str, np.ndarray[Any, Any]]:
    body = json.dumps({"model": model, "input": TEXT, "encoding_format": "base64"}).encode()
    request = urllib.request.Request(
        f"{url}/v1/embeddings", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        answer = json.load(response)
    vector = np.frombuffer(base64.b64decode(answer["data"][0]["embedding"]), dtype="<f4")
    return answer["model"], vector


def _admin(url: str, path: str, payload: dict[str, Any] | None = None) -> None:
    data = json.dumps(payload or {}).encode()
    request = urllib.request.Request(
        f"{url}{path}", data=data, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def test_switching_under_concurrency_16_fails_no_request() -> None:
    """16 clients embed with the plain name while the default flips back and forth: every
    request is answered 200, by the version it says, with that version's vectors."""
    truth = {f"{MODEL}@v1": _truth(1), f"{MODEL}@v2": _truth(2)}
    answers: list[tuple[str, np.ndarray[Any, Any]]] = []
    failures: list[BaseException] = []
    stop = threading.Event()
    with threaded_server(FakeEmbedder(), versions=[FakeEmbedder(version=2)]) as server:

        def client() -> None:
            while not stop.is_set():
                try:
                    answers.append(_embed_over_http(server.url, MODEL))
                except Exception as exc:  # noqa: BLE001 - counted, the test says which
                    failures.append(exc)

        threads = [threading.Thread(target=client) for _ in range(16)]
        for thread in threads:
            thread.start()
        try:
            for switch in range(20):
                time.sleep(0.05)
                _admin(server.url, "/v1/versions/default", {"version": 2 - switch % 2})
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
    assert not failures, failures[:3]
    assert {name for name, _ in answers} == set(truth)
    for name, vector in answers:
        assert np.allclose(vector, truth[name], atol=1e-6), name


@pytest.mark.parametrize("versions", [[1, 1]])
def test_two_exports_of_one_version_are_refused(versions: list[int]) -> None:
    from edgembed.errors import ConfigError

    with pytest.raises(ConfigError, match="both v1"):
        create_app(ServeSettings(), FakeEmbedder(version=versions[0]), versions=[FakeEmbedder()])


def test_search_ranks_with_the_default_version_and_follows_a_switch(tmp_path: Path) -> None:
    from tests.server.test_search import TEXTS, _wait_indexed

    corpus = tmp_path / "chunks.jsonl"
    rows = [
        {
            "id": f"c{i}",
            "doc": "d",
            "title": "D",
            "section": "",
            "text": text,
            "words": 1,
            "position": 0,
        }
        for i, text in enumerate(TEXTS)
    ]
    corpus.write_text("".join(json.dumps(row) + "\n" for row in rows))
    (tmp_path / "fake-model-v2").mkdir()

    def search(client: TestClient[Any]) -> dict[str, Any]:
        body: dict[str, Any] = client.post("/v1/search", json={"query": TEXTS[1]}).json()
        return body["results"][0]

    with _client(tmp_path, corpus=corpus, hybrid_weight=0) as client:  # cosine scores
        _wait_indexed(client)
        before = search(client)
        client.post("/v1/versions", json={"export": "fake-model-v2"})
        still = search(client)
        client.post("/v1/versions/default", json={"version": 2})
        after = search(client)
    fake = FakeEmbedder(version=2)
    query = fake.embed_ids(fake.tokenize([TEXTS[1]]))[0]
    expected = fake.embed_ids(fake.tokenize([TEXTS[0]]))[0] @ query
    assert before["model"] == still["model"] == f"{MODEL}@v1"
    assert after["model"] == f"{MODEL}@v2"
    scores = {hit["chunk_id"]: hit["score"] for hit in after["hits"]}
    assert scores["c0"] == pytest.approx(expected, abs=1e-3)
