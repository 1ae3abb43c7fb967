"""The same text gets the same int8 vector whatever the batcher merges it with (#18).

The bundled MiniLM's export (the tiny random model's activations have no outliers, so per-call
scales barely moved it), in-process app: concurrent requests are merged into shared model
calls, and a query must come back as it does alone (cosine >= 0.9999), whatever other users'
texts share its call.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from litestar.testing import TestClient

from edgembed.config import ServeSettings
from edgembed.server import create_app
from tests.server.conftest import LOCAL_URL

if TYPE_CHECKING:
    from edgembed.exporter import ExportResult

pytestmark = pytest.mark.slow

QUERY = "How many PTO days carry over?"
OTHERS = [
    ["ok"],
    ["Where is the parking lot?"],
    ["ok"] * 31,
    ["The expense policy covers hotels, trains and meals on business trips abroad. " * 4],
]


def test_a_query_gets_its_own_vector_under_concurrent_load(minilm_export: ExportResult) -> None:
    from edgembed.runtime import OnnxEmbedder

    engine = OnnxEmbedder(minilm_export.out, variant="int8")
    alone = engine.embed([QUERY])[0]
    # A long wait makes the batcher merge the concurrent requests into shared calls.
    settings = ServeSettings(max_wait_ms=50)
    payloads = [[QUERY, *others] for others in OTHERS] * 4 + [QUERY] * 8
    with TestClient(create_app(settings, engine), base_url=LOCAL_URL) as client:

        def post(texts: Any) -> list[float]:
            response = client.post(
                "/v1/embeddings", json={"input": texts, "model": engine.model_name}
            )
            assert response.status_code == 200, response.text
            return list(response.json()["data"][0]["embedding"])

        with ThreadPoolExecutor(max_workers=len(payloads)) as pool:
            vectors = np.array(list(pool.map(post, payloads)), dtype=np.float32)
    cosines = vectors @ alone / np.linalg.norm(vectors, axis=1) / np.linalg.norm(alone)
    assert cosines.min() >= 0.9999
