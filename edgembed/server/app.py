"""create_app: the Litestar application around one embedder."""

from __future__ import annotations

import time
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
from edgembed.server.addons import build_addons
from edgembed.server.checks import DecodedRequest, request_checks
from edgembed.server.envelope import error_response
from edgembed.server.hosts import HostNames
from edgembed.server.openapi import API_KEY_SECURITY, openapi_config
from edgembed.server.prometheus import ServerMetrics
from edgembed.server.protocol import Embedder
from edgembed.server.routes import API_ROUTES, OPEN_ROUTES
from edgembed.server.service import EmbeddingService

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
    settings: ServeSettings, embedder: Embedder, *, compare: Embedder | None = None
) -> Litestar:
    """Build the embedding server for `embedder`.

    Routes: POST /v1/embeddings (OpenAI), POST /api/embed (Ollama), GET /v1/models,
    GET /health, GET /ready, GET /metrics (Prometheus), and the OpenAPI docs at /docs; the
    opt-in parts (see `addons`): POST /v1/feedback, POST /v1/search, GET /v1/playground and
    the playground page at /. With ``settings.api_key`` set, the /v1 and /api routes require
    it as a Bearer token; without it, only the host names of `hosts.HostNames` are answered.

    Args:
        settings: limits, batching, auth and CORS.
        embedder: anything that meets `edgembed.server.Embedder` (e.g. ``OnnxEmbedder``).
        compare: a second model that ranks the ``settings.corpus`` beside `embedder` (search
            and the playground only).
    """
    metrics = ServerMetrics()
    service = EmbeddingService(embedder, settings, metrics)
    addons = build_addons(settings, service, compare)
    api = Router(
        path="/",
        route_handlers=[*API_ROUTES, *addons.api_routes],
        before_request=request_checks(settings.api_key),
        security=API_KEY_SECURITY if settings.api_key else None,
    )
    cors = (
        CORSConfig(
            allow_origins=list(settings.cors_origins), expose_headers=["X-Edgembed-Truncated"]
        )
        if settings.cors_origins
        else None
    )
    app = MeteredLitestar(
        route_handlers=[api, *OPEN_ROUTES, *addons.open_routes],
        exception_handlers={Exception: error_response},
        request_max_body_size=settings.max_body_bytes,
        request_class=DecodedRequest,
        cors_config=cors,
        openapi_config=openapi_config(
            api_key_required=settings.api_key is not None, dimension=embedder.dimension
        ),
        lifespan=[service.lifespan, *addons.lifespans],
        state=State({"service": service, **addons.state}),
        logging_config=None,
    )
    app.server_metrics = metrics
    if settings.api_key is None:
        app.host_names = HostNames(settings.host, settings.allowed_hosts)
    return app
