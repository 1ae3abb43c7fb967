"""Models, health, readiness, metrics, auth, CORS, docs and Ollama's /api/embed, in-process."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest
from litestar.testing import TestClient

from edgembed.config import ServeSettings
from edgembed.server import create_app
from tests.server.conftest import LOCAL_URL, MODEL, ClientFactory, embed
from tests.server.fake import FakeEmbedder


def test_models_list_states_size_and_truncation(client: TestClient[Any]) -> None:
    body = client.get("/v1/models").json()
    assert body["object"] == "list"
    card, version = body["data"]
    assert card["id"] == MODEL and card["object"] == "model" and card["owned_by"] == "edgembed"
    assert (card["version"], card["versions"]) == (1, [1])
    assert (version["id"], version["version"], version["versions"]) == (f"{MODEL}@v1", 1, [])
    assert card["dimension"] == 16 and card["max_seq_length"] == 16
    assert "truncated" in card["truncation"] and "truncate: false" in card["truncation"]
    assert client.get(f"/v1/models/{MODEL}").json()["id"] == MODEL


def test_health_and_ready(client: TestClient[Any]) -> None:
    assert client.get("/health").json() == {"status": "ok", "model": MODEL, "models": [MODEL]}
    # The warm-up batch runs in the background after start-up; poll as a readiness probe does.
    deadline = time.monotonic() + 5
    while (ready := client.get("/ready")).status_code == 503 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ready.json() == {"status": "ready", "model": MODEL, "models": [MODEL]}


def test_not_ready_until_warmed_up(fake: FakeEmbedder) -> None:
    fake.open.clear()  # the warm-up batch cannot finish
    with TestClient(create_app(ServeSettings(), fake), base_url=LOCAL_URL) as client:
        response = client.get("/ready")
        assert client.get("/health").status_code == 200
        fake.open.set()
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "not_ready"
    assert response.headers["retry-after"] == "1"


def test_health_fails_when_the_model_cannot_serve(
    fake: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model that fails its warm-up never serves: /health says so, so the orchestrator
    restarts the process instead of keeping it alive and never ready."""

    def broken(ids: list[list[int]], batch_size: int = 32) -> Any:
        raise RuntimeError("the graph gives 999 values, not 16")

    monkeypatch.setattr(fake, "embed_ids", broken)
    with TestClient(create_app(ServeSettings(), fake), base_url=LOCAL_URL) as client:
        health = client.get("/health")
        deadline = time.monotonic() + 5
        while health.status_code == 200 and time.monotonic() < deadline:
            time.sleep(0.01)
            health = client.get("/health")
        ready = client.get("/ready")
    assert health.status_code == 503 and ready.status_code == 503
    for answer in (health, ready):
        error = answer.json()["error"]
        assert error["code"] == "model_failed" and error["type"] == "server_error"
        assert "999 values" in error["message"] and "log" in error["message"]


def test_metrics_count_requests_batches_and_tokens(client: TestClient[Any]) -> None:
    embed(client, {"model": MODEL, "input": ["a b", "c"]})
    embed(client, {"model": "nope", "input": "a"})
    client.get("/nowhere")
    response = client.get("/metrics")
    text = response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert 'edgembed_requests_total{route="/v1/embeddings",status="200"} 1.0' in text
    assert 'edgembed_requests_total{route="/v1/embeddings",status="404"} 1.0' in text
    assert 'edgembed_requests_total{route="other",status="404"} 1.0' in text
    assert 'edgembed_request_duration_seconds_count{route="/v1/embeddings"} 2.0' in text
    assert "edgembed_batch_inputs_count 2.0" in text  # warm-up + one request
    assert "edgembed_tokens_total 15.0" in text  # warm-up (2 x 4) + a b (4) + c (3), with specials
    assert "edgembed_queue_depth 0.0" in text


def test_each_app_has_its_own_registry(fake: FakeEmbedder) -> None:
    first = create_app(ServeSettings(), fake)
    second = create_app(ServeSettings(), fake)
    with (
        TestClient(first, base_url=LOCAL_URL) as one,
        TestClient(second, base_url=LOCAL_URL) as two,
    ):
        embed(one, {"model": MODEL, "input": "a"})
        assert "/v1/embeddings" not in two.get("/metrics").text


def test_api_key_lets_the_right_key_through(make_client: ClientFactory) -> None:
    with make_client(api_key="secret") as client:
        ok = embed(client, {"model": MODEL, "input": "a"}, Authorization="Bearer secret")
        models = client.get("/v1/models", headers={"Authorization": "bearer secret"})
        probes = [client.get(path).status_code for path in ("/health", "/ready", "/metrics")]
    assert ok.status_code == 200 and models.status_code == 200
    assert probes == [200, 200, 200]


def test_cors_only_for_listed_origins(make_client: ClientFactory) -> None:
    preflight = {
        "Origin": "https://app.example.com",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    with make_client(cors_origins=("https://app.example.com",)) as client:
        allowed = client.options("/v1/embeddings", headers=preflight)
    with make_client() as client:
        plain = embed(client, {"model": MODEL, "input": "a"}, Origin="https://app.example.com")
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "access-control-allow-origin" not in plain.headers


def test_openapi_schema_and_docs_page(client: TestClient[Any]) -> None:
    schema = client.get("/docs/openapi.json").json()
    assert {"/v1/embeddings", "/api/embed", "/v1/models", "/health", "/ready"} <= set(
        schema["paths"]
    )
    assert client.get("/docs").headers["content-type"].startswith("text/html")


def test_the_docs_page_loads_nothing_from_elsewhere(client: TestClient[Any]) -> None:
    """An offline appliance shows its API docs: the page and its script come from the server."""
    page = client.get("/docs")
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "//" not in page.text.replace("<!--", "")  # no URL of another host
    script = client.get("/static/docs.js")
    assert script.status_code == 200 and "/docs/openapi.json" in script.text
    assert script.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", ["/static/index.html", "/static/playground.js"])
def test_static_files_have_the_page_headers(client: TestClient[Any], path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


def test_ollama_embed_matches_the_engine(client: TestClient[Any], fake: FakeEmbedder) -> None:
    response = client.post("/api/embed", json={"model": MODEL, "input": ["a b", "c"]})
    body = response.json()
    assert response.status_code == 200
    assert body["model"] == MODEL and body["prompt_eval_count"] == 7
    assert body["total_duration"] > 0 and body["load_duration"] == 0
    np.testing.assert_allclose(np.array(body["embeddings"]), fake.embed(["a b", "c"]), atol=1e-6)


def test_ollama_single_string_tag_and_dimensions(
    client: TestClient[Any], fake: FakeEmbedder
) -> None:
    response = client.post(
        "/api/embed",
        json={"model": f"{MODEL}:latest", "input": "a", "dimensions": 4, "keep_alive": "5m"},
    )
    (vector,) = response.json()["embeddings"]
    expected = fake.embed(["a"])[0][:4]
    np.testing.assert_allclose(vector, expected / np.linalg.norm(expected), atol=1e-6)


def test_ollama_truncate_false_refuses_long_input(client: TestClient[Any]) -> None:
    long_text = " ".join(f"w{i}" for i in range(40))
    refused = client.post(
        "/api/embed", json={"model": MODEL, "input": long_text, "truncate": False}
    )
    cut = client.post("/api/embed", json={"model": MODEL, "input": long_text})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "context_length_exceeded"
    assert cut.status_code == 200 and cut.headers["x-edgembed-truncated"] == "1"


def test_ollama_bad_inputs(client: TestClient[Any]) -> None:
    for payload, status in [
        ({"model": MODEL, "input": []}, 400),
        ({"model": MODEL, "input": [1, 2]}, 400),
        ({"model": MODEL, "input": ""}, 400),
        ({"model": "llama3", "input": "a"}, 404),
        ({"model": MODEL, "input": "a", "dimensions": 99}, 400),
    ]:
        response = client.post("/api/embed", json=payload)
        assert response.status_code == status, payload
        assert set(response.json()["error"]) == {"message", "type", "param", "code"}
