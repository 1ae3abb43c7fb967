"""A bounded schemathesis run of the published OpenAPI schema against a real `edgembed serve`
process with a real export: no 5xx, and no answer that disagrees with the schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.server.live import LiveServer, live_server

pytestmark = pytest.mark.slow

schemathesis = pytest.importorskip("schemathesis")
hypothesis = pytest.importorskip("hypothesis")

KEY = "fuzz-k3y"
MODEL = "tiny-golden"
EMBED_ROUTES = ("/v1/embeddings", "/api/embed")
EXAMPLES = 300  # per generation mode, over every route of the schema: about 20 s each
# What a schema-valid request may still be refused for: facts the schema cannot hold (the
# model's vocabulary, length limit, size and prompts, the token budget, a model id and an
# input_type that disagree).
SEMANTIC_400 = {
    "invalid_token_id",
    "context_length_exceeded",
    "max_tokens_per_request",
    "invalid_prompt",
    "input_type_conflict",
}


@pytest.fixture(scope="module")
def server(real_export: Path) -> Iterator[LiveServer]:
    with live_server(real_export, "--model-name", MODEL, env={"EDGEMBED_API_KEY": KEY}) as live:
        yield live


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_the_server_agrees_with_its_schema(server: LiveServer, mode: str) -> None:
    from hypothesis import HealthCheck, given, settings
    from schemathesis import GenerationMode
    from schemathesis import checks as st_checks

    schema = schemathesis.openapi.from_url(f"{server.url}/docs/openapi.json")
    generation = GenerationMode.POSITIVE if mode == "positive" else GenerationMode.NEGATIVE
    checks = [
        st_checks.not_a_server_error,
        st_checks.status_code_conformance,
        st_checks.content_type_conformance,
        st_checks.response_headers_conformance,
        st_checks.response_schema_conformance,
        st_checks.negative_data_rejection,
    ]

    @given(case=schema.as_strategy(generation_mode=generation))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case: Any) -> None:
        if generation is GenerationMode.POSITIVE and case.path in EMBED_ROUTES:
            case.body["model"] = MODEL  # else nearly every body stops at 404 model_not_found
        response = case.call_and_validate(
            base_url=server.url, headers={"Authorization": f"Bearer {KEY}"}, checks=checks
        )
        # The embedding routes' bodies are described exactly: a schema-valid one is refused
        # only for what the schema cannot know.
        positive = generation is GenerationMode.POSITIVE and case.path in EMBED_ROUTES
        if positive and response.status_code == 400:
            error = response.json()["error"]
            assert error["code"] in SEMANTIC_400, error

    fuzz()
    assert server.process.poll() is None  # still serving
