"""A real `edgembed serve` process on 127.0.0.1 with a real ONNX export, called by the official
openai and ollama clients, stopped with SIGTERM, and put under a bounded mixed load."""

from __future__ import annotations

import json
import threading
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edgembed.bench.load import run_load
from tests.server.live import get_json, live_server
from tests.server.waiting import wait_until

pytestmark = pytest.mark.slow

TEXTS = [
    "How do I reset my password?",
    "The invoice is sent on the first working day of the month.",
    "VPN access needs a hardware token. " * 40,  # over the tiny model's 128-token limit
]


@pytest.fixture(scope="module")
def engine(real_export: Path) -> Any:
    from edgembed.runtime import OnnxEmbedder

    return OnnxEmbedder(real_export, variant="int8")


def test_openai_sdk_float_and_base64_equal_the_runtime(real_export: Path, engine: Any) -> None:
    import openai

    expected = engine.embed(TEXTS)
    with live_server(real_export, env={"EDGEMBED_API_KEY": "k3y"}) as server:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="k3y", max_retries=0)
        model = client.models.list().data[0].id
        as_base64 = client.embeddings.create(model=model, input=TEXTS)  # the SDK's default
        as_float = client.embeddings.create(model=model, input=TEXTS, encoding_format="float")
        short = client.embeddings.create(model=model, input=TEXTS[0], dimensions=8)
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=f"{server.url}/v1", api_key="bad", max_retries=0).models.list()
        with pytest.raises(openai.NotFoundError):
            client.embeddings.create(model="text-embedding-3-small", input="a")
        with pytest.raises(openai.BadRequestError, match="limit"):
            client.embeddings.create(model=model, input=TEXTS[2], extra_body={"truncate": False})
        assert server.stop()
    for response in (as_base64, as_float):
        got = np.array([item.embedding for item in response.data], dtype=np.float32)
        np.testing.assert_allclose(got, expected, atol=1e-6)
        assert response.usage.prompt_tokens == sum(map(len, engine.tokenize(TEXTS)))
    # int8 quantizes activations per batch, so a text alone is compared with the text alone.
    alone = engine.embed(TEXTS[:1])[0]
    head = alone[:8] / np.linalg.norm(alone[:8])
    np.testing.assert_allclose(short.data[0].embedding, head, atol=1e-6)


def test_ollama_client_on_api_embed(real_export: Path, engine: Any) -> None:
    import ollama

    with live_server(real_export, "--model-name", "support-embed") as server:
        client = ollama.Client(host=server.url)
        response = client.embed(model="support-embed", input=TEXTS[:2])
        with pytest.raises(ollama.ResponseError) as refused:
            client.embed(model="support-embed", input=TEXTS[2], truncate=False)
    np.testing.assert_allclose(np.array(response.embeddings), engine.embed(TEXTS[:2]), atol=1e-6)
    assert response.prompt_eval_count == sum(map(len, engine.tokenize(TEXTS[:2])))
    assert refused.value.status_code == 400


def test_ready_fast_small_and_stops_cleanly(real_export: Path) -> None:
    with live_server(real_export) as server:
        status, body = get_json(f"{server.url}/health")
        rss = server.rss_mb()
        ready_after = server.ready_after_s
        assert server.stop()
    assert status == 200 and body["status"] == "ok"
    print(f"ready after {ready_after:.2f} s, idle RSS {rss:.0f} MB")
    assert rss < 200
    assert ready_after < 10  # the target is 1 s; shared CI machines are slower


def test_sigterm_finishes_requests_in_flight(real_export: Path) -> None:
    import openai

    answers: list[Any] = []
    # The shutdown deadline is raised above the default (20 s) so that a loaded CI machine
    # still finishes the request; LiveServer.stop waits 30 s.
    limits = ("--max-batch-tokens", "64", "--shutdown-timeout-s", "28")
    with live_server(real_export, *limits) as server:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="-", max_retries=0)
        model = client.models.list().data[0].id
        # 512 long inputs, one 128-token model call each: still running when SIGTERM arrives.
        worker = threading.Thread(
            target=lambda: answers.append(
                client.embeddings.create(model=model, input=[TEXTS[2]] * 512)
            )
        )
        worker.start()
        # The big request, and this scrape.
        wait_until(lambda: _in_progress(server.url) >= 2, "the big request to start", 30)
        assert server.stop()
        worker.join(timeout=60)
    assert len(answers) == 1 and len(answers[0].data) == 512


def test_bounded_mixed_load_loses_nothing(real_export: Path) -> None:
    bodies = [
        {"model": "tiny-golden", "input": "a short question"},
        {"model": "tiny-golden", "input": ["two", "texts"], "encoding_format": "base64"},
        {"model": "tiny-golden", "input": []},
        {"model": "nope", "input": "a"},
        {"model": "tiny-golden", "input": "a", "dimensions": 0},
        {"model": "tiny-golden", "input": [[1, 2, 3]]},
    ]
    with live_server(real_export, "--model-name", "tiny-golden") as server:
        result = run_load(
            server.url,
            concurrency=16,
            requests=300,
            texts=[],
            seconds_limit=30,
            bodies=[json.dumps(body).encode() for body in bodies],
        )
        assert server.stop()
    assert result["requests"] == 300 and result["lost"] == 0
    assert result["connection_errors"] == 0
    assert result["status"] == {200: 150, 400: 100, 404: 50}


def _in_progress(url: str) -> float:
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
        text: str = response.read().decode()
    (line,) = (line for line in text.splitlines() if line.startswith("edgembed_requests_in_"))
    return float(line.split()[1])
