"""create_app: the Litestar application around one embedder."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import cast

from litestar import Litestar, Router
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.enums import ScopeType
from litestar.types import (
    HTTPResponseStartEvent,
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
from edgembed.server.addons import Addons, build_addons
from edgembed.server.admin import VERSION_ROUTES
from edgembed.server.checks import DecodedRequest, request_checks
from edgembed.server.envelope import error_response
from edgembed.server.hosts import HostNames
from edgembed.server.openapi import API_KEY_SECURITY, openapi_config
from edgembed.server.prometheus import ServerMetrics
from edgembed.server.protocol import Embedder, Reranker
from edgembed.server.rerank import RERANK_ROUTES, RerankService
from edgembed.server.routes import API_ROUTES, OPEN_ROUTES
from edgembed.server.versions import LoadExport, ModelVersions

__all__ = ["create_app"]


class MeteredLitestar(Litestar):
    """Litestar that records every HTTP request in the server's metrics and, without an API
    key, answers only the host names `hosts.HostNames` allows (421 otherwise).

    Done at the ASGI entry rather than in a middleware so that 404s, 405s and 413s, which the
    framework answers before any route middleware runs, are counted (and guarded) too.
    """

    server_metrics: ServerMetrics
    host_names: HostNames | None = None

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
        hosts = self.host_names
        try:
            refused = hosts.refused(cast(HTTPScope, scope)["headers"]) if hosts else None
            if hosts is None or refused is None:
                await super().__call__(scope, receive, send_and_note)
            else:
                await _send_json(send_and_note, 421, hosts.answer(refused))
        finally:
            self.server_metrics.in_progress.dec()
            self.server_metrics.observe_request(
                cast(HTTPScope, scope)["path"], status, time.perf_counter() - started
            )


async def _send_json(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": status,
        "headers": headers,
    }
    await send(start)
    await send({"type": "http.response.body", "body": body, "more_body": False})


def create_app(
    settings: ServeSettings,
    embedder: Embedder | None,
    *,
    compare: Embedder | None = None,
    reranker: Reranker | None = None,
    versions: Sequence[Embedder] = (),
    load: LoadExport | None = None,
) -> Litestar:
    """Build the server for `embedder`, `reranker`, or both.

    Routes: POST /v1/embeddings (OpenAI), /api/embed (Ollama), /v1/rerank (Cohere, Jina) and
    /rerank (TEI), GET /v1/models, /health, /ready, /metrics, the versions API (`admin`), the
    OpenAPI docs at /docs, and the opt-in parts (`addons`). With ``settings.api_key`` set, the
    /v1 and /api routes (and /rerank) require it as a Bearer token; without it, only the host
    names of `hosts.HostNames` are answered.

    Args:
        settings: limits, batching, auth and CORS.
        embedder: anything that meets `edgembed.server.Embedder` (e.g. ``OnnxEmbedder``);
            None for a server of a reranker alone.
        compare: a second model ranking the ``settings.corpus`` beside `embedder` (search).
        reranker: a cross-encoder (``OnnxReranker``) for /v1/rerank and search's last stage.
        versions: other versions of `embedder`'s model, served beside it (`versions`).
        load: loads an export folder as an embedder for POST /v1/versions; None: no loading.

    Raises:
        ConfigError: neither an embedder nor a reranker was given.
    """
    if embedder is None and reranker is None:
        raise ConfigError("serve an embedding export, a reranker export, or both")
    metrics = ServerMetrics()
    served = None
    if embedder is not None:
        served = ModelVersions(settings, metrics, [embedder, *versions], load=load)
    rerank = RerankService(reranker, settings, metrics) if reranker is not None else None
    addons = build_addons(settings, served, compare, rerank)
    state = {"versions": served, "rerank": rerank, "metrics": metrics, "settings": settings}
    app = MeteredLitestar(
        route_handlers=[_api(settings, addons), *OPEN_ROUTES, *addons.open_routes],
        exception_handlers={Exception: error_response},
        request_max_body_size=settings.max_body_bytes,
        request_class=DecodedRequest,
        cors_config=_cors(settings),
        openapi_config=openapi_config(
            api_key_required=settings.api_key is not None,
            dimension=embedder.dimension if embedder is not None else None,
        ),
        lifespan=[
            *(part.lifespan for part in (served, rerank) if part is not None),
            *addons.lifespans,
        ],
        state=State({**state, **addons.state}),
        logging_config=None,
    )
    app.server_metrics = metrics
    if settings.api_key is None:
        app.host_names = HostNames(settings.host, settings.allowed_hosts)
    return app


def _api(settings: ServeSettings, addons: Addons) -> Router:
    """The routes behind the API key (when one is set)."""
    return Router(
        path="/",
        route_handlers=[*API_ROUTES, *VERSION_ROUTES, *RERANK_ROUTES, *addons.api_routes],
        before_request=request_checks(settings.api_key),
        security=API_KEY_SECURITY if settings.api_key else None,
    )


def _cors(settings: ServeSettings) -> CORSConfig | None:
    """The browser origins allowed to call the API, when any are."""
    if not settings.cors_origins:
        return None
    exposed = ["X-Edgembed-Truncated", "X-Edgembed-Prompt", "X-Edgembed-Model"]
    return CORSConfig(allow_origins=list(settings.cors_origins), expose_headers=exposed)
