"""serve: load an export folder and run the server under uvicorn until stopped."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edgembed.config import ServeSettings
from edgembed.errors import ConfigError, MissingExtraError
from edgembed.server.app import create_app
from edgembed.server.protocol import Embedder

__all__ = ["bind", "serve", "server_config"]

logger = logging.getLogger(__name__)


def serve(
    export_dir: Path,
    settings: ServeSettings,
    *,
    announce: Callable[[str], None] = logger.info,
    access_log: bool = False,
) -> None:
    """Serve the model in `export_dir` until SIGINT/SIGTERM, then finish in-flight requests.

    Args:
        export_dir: a folder written by `edgembed export`.
        settings: address, limits, batching, auth.
        announce: called once with a line saying where the server listens.
        access_log: log one line per request (costs a little latency).

    Raises:
        ConfigError: the address cannot be bound.
        MissingExtraError: the serving dependencies are not installed.
        ManifestError, ModelError: the export folder cannot be loaded.
    """
    with bind(settings.host, settings.port) as listener:
        try:
            import uvicorn

            from edgembed.runtime import OnnxEmbedder
        except ImportError as exc:
            raise MissingExtraError(exc.name or "onnxruntime", "serve") from exc

        def load(folder: Path) -> OnnxEmbedder:
            return OnnxEmbedder(
                folder, variant=settings.variant, threads=settings.threads, engine=settings.engine
            )

        engine = load(export_dir)
        embedder: Embedder = engine
        # The --compare export (e.g. the base model) only ranks the corpus beside this one.
        compare = load(settings.compare) if settings.compare else None
        app = create_app(settings, embedder, compare=compare)
        name = settings.model_name or embedder.model_name
        runs = engine.variant
        if engine.precision != engine.variant:  # OpenVINO computes the fp32 file in bf16
            runs = f"{engine.variant} file in {engine.precision}"
        announce(
            f"Serving '{name}' ({embedder.dimension} dims, {runs} on {engine.engine}) on "
            f"http://{settings.host}:{settings.port}/v1/embeddings (Ollama: /api/embed, "
            "docs: /docs). Ctrl+C stops it after the requests in flight."
        )
        uvicorn.Server(server_config(app, settings, access_log=access_log)).run(sockets=[listener])


def server_config(app: Any, settings: ServeSettings, *, access_log: bool = False) -> Any:
    """The uvicorn.Config that runs `app`: its read and write deadlines, connection limit and
    shutdown deadline come from `settings` (see `edgembed.server.connections`).

    Raises:
        MissingExtraError: uvicorn or httptools is not installed.
    """
    try:
        import uvicorn

        from edgembed.server.connections import ConnectionLimits, guarded_protocol
    except ImportError as exc:
        raise MissingExtraError(exc.name or "uvicorn", "serve") from exc
    limits = ConnectionLimits(
        header_timeout_s=settings.header_timeout_s,
        body_timeout_s=settings.body_timeout_s,
        write_timeout_s=settings.write_timeout_s,
        max_connections=settings.max_connections,
    )
    return uvicorn.Config(
        app,
        http=guarded_protocol(limits),
        log_config=None,
        access_log=access_log,
        lifespan="on",
        server_header=False,
        # Nothing here reads the client address; parsing X-Forwarded-* costs every request.
        proxy_headers=False,
        timeout_graceful_shutdown=settings.shutdown_timeout_s,
    )


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port, bound before the model loads so a busy port fails fast.

    Raises:
        ConfigError: the address is in use or not valid on this machine.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP, not 0: asyncio only sets TCP_NODELAY on sockets that say they are TCP,
    # and without it Nagle's algorithm adds ~40 ms to every response.
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(2048)
    except OSError as exc:
        listener.close()
        raise ConfigError(
            f"Cannot listen on {host}:{port}: {exc.strerror}. Pick another --port, or stop "
            "the process using it."
        ) from exc
    return listener
