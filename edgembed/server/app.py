"""create_app: the Litestar application around one embedder."""

from __future__ import annotations

import time
from typing import cast

from litestar import Litestar, Router
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.enums import ScopeType
from litestar.types import (
    HTTPScope,
    LifeSpanReceive,
    LifeSpanScope,
    LifeSpanSend,
    Message,
    Receive,
    Scope,
    Send,
)

from edgembed.config import ServeSettings
from edgembed.errors import ConfigError
from edgembed.server.addons import build_addons
from edgembed.server.checks import request_checks
from edgembed.server.envelope import error_response
from edgembed.server.openapi import API_KEY_SECURITY, openapi_config
from edgembed.server.prometheus import ServerMetrics
from edgembed.server.protocol import Embedder, Reranker
from edgembed.server.rerank import RERANK_ROUTES, RerankService
from edgembed.server.routes import API_ROUTES, OPEN_ROUTES
from edgembed.server.service import EmbeddingService

__all__ = ["create_app"]


class MeteredLitestar(Litestar):
    """Litestar that records every HTTP request in the server's metrics.

    Done at the ASGI entry rather than in a middleware so that 404s, 405s and 413s, which the
    framework answers before any route middleware runs, are counted too.
    """

    server_metrics: ServerMetrics

    async def __call__(
        self,
        scope: Scope | LifeSpanScope,
        receive: Receive | LifeSpanReceive,
        send: Send | LifeSpanSend,
    ) -> None:
        if scope["type"] != ScopeType.HTTP:
            await super().__call__(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await cast(Send, send)(message)

        self.server_metrics.in_progress.inc()
        try:
            await super().__call__(scope, receive, send_and_note)
        finally:
            self.server_metrics.in_progress.dec()
            self.server_metrics.observe_request(
                cast(HTTPScope, scope)["path"], status, time.perf_counter() - started
            )


def create_app(
    settings: ServeSettings,
    embedder: Embedder | None,
    *,
    compare: Embedder | None = None,
    reranker: Reranker | None = None,
) -> Litestar:
    """Build the server for `embedder`, `reranker`, or both.

    Routes: POST /v1/embeddings (OpenAI), POST /api/embed (Ollama), POST /v1/rerank (Cohere,
    Jina) and /rerank (text-embeddings-inference), GET /v1/models, GET /health, GET /ready,
    GET /metrics (Prometheus), and the OpenAPI docs at /docs; the opt-in parts (see
    `addons`): POST /v1/feedback, POST /v1/search, GET /v1/playground and the playground page
    at /. With ``settings.api_key`` set, the /v1 and /api routes (and /rerank) require it as a
    Bearer token. A route of a model the server does not have answers 404 and says so.

    Args:
        settings: limits, batching, auth and CORS.
        embedder: anything that meets `edgembed.server.Embedder` (e.g. ``OnnxEmbedder``);
            None for a server of a reranker alone.
        compare: a second model that ranks the ``settings.corpus`` beside `embedder` (search
            and the playground only).
        reranker: a cross-encoder (e.g. ``OnnxReranker``) for /v1/rerank and search's
            rerank stage.

    Raises:
        ConfigError: neither an embedder nor a reranker was given.
    """
    if embedder is None and reranker is None:
        raise ConfigError("serve an embedding export, a reranker export, or both")
    metrics = ServerMetrics()
    service = EmbeddingService(embedder, settings, metrics) if embedder is not None else None
    rerank = RerankService(reranker, settings, metrics) if reranker is not None else None
    addons = build_addons(settings, service, compare, rerank)
    api = Router(
        path="/",
        route_handlers=[*API_ROUTES, *RERANK_ROUTES, *addons.api_routes],
        before_request=request_checks(settings.api_key),
        security=API_KEY_SECURITY if settings.api_key else None,
    )
    app = MeteredLitestar(
        route_handlers=[api, *OPEN_ROUTES, *addons.open_routes],
        exception_handlers={Exception: error_response},
        request_max_body_size=settings.max_body_bytes,
        cors_config=_cors(settings),
        openapi_config=openapi_config(api_key_required=settings.api_key is not None),
        lifespan=[
            *(part.lifespan for part in (service, rerank) if part is not None),
            *addons.lifespans,
        ],
        state=State({"service": service, "rerank": rerank, "metrics": metrics, **addons.state}),
        logging_config=None,
    )
    app.server_metrics = metrics
    return app


def _cors(settings: ServeSettings) -> CORSConfig | None:
    """The browser origins allowed to call the API, when any are."""
    if not settings.cors_origins:
        return None
    exposed = ["X-Edgembed-Truncated", "X-Edgembed-Prompt"]
    return CORSConfig(allow_origins=list(settings.cors_origins), expose_headers=exposed)
