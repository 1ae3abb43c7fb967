"""Fixtures: a fake embedder, in-process clients of the app, and (slow) a real ONNX export."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from edgembed.config import ServeSettings
from edgembed.server import create_app
from tests.conftest import TINY_EXPORT
from tests.server.fake import FakeEmbedder

MODEL = "fake-model"
# A keyless server answers only its own host names (edgembed.server.hosts), not TestClient's.
LOCAL_URL = "http://127.0.0.1"

ClientFactory = Callable[..., AbstractContextManager[TestClient[Any]]]


@pytest.fixture(autouse=True)
def _quiet_httpx() -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)


@pytest.fixture()
def fake() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture()
def make_client(fake: FakeEmbedder) -> ClientFactory:
    """Open a TestClient on an app over `fake`, built with ServeSettings(**overrides)."""

    @contextmanager
    def make(**overrides: Any) -> Iterator[TestClient[Any]]:
        app = create_app(ServeSettings(**overrides), fake)
        with TestClient(app, base_url=LOCAL_URL) as client:
            yield client

    return make


@pytest.fixture()
def client(make_client: ClientFactory) -> Iterator[TestClient[Any]]:
    with make_client() as opened:
        yield opened


def embed(client: TestClient[Any], payload: Any, **headers: str) -> Any:
    """POST /v1/embeddings with `payload` as JSON; return the httpx response."""
    return client.post("/v1/embeddings", json=payload, headers=headers)


@pytest.fixture(scope="session")
def real_export() -> Path:
    """A real export folder (fp32 + int8 ONNX, manifest): the committed tiny export."""
    return TINY_EXPORT
