"""serve: load an export folder and run the server under uvicorn until stopped."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgembed.config import ServeSettings
from edgembed.errors import ConfigError, MissingExtraError
from edgembed.server.app import create_app

if TYPE_CHECKING:
    from edgembed.runtime import OnnxEmbedder, OnnxReranker

__all__ = ["ServedModels", "bind", "load_models", "serve", "server_config"]

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
        except ImportError as exc:
            raise MissingExtraError(exc.name or "onnxruntime", "serve") from exc

        models = load_models(export_dir, settings)
        app = create_app(
            settings,
            models.embedder,
            compare=models.compare,
            reranker=models.reranker,
            versions=models.versions,
            load=models.load if models.embedder is not None else None,
        )
        announce(_announcement(models, settings))
        uvicorn.Server(server_config(app, settings, access_log=access_log)).run(sockets=[listener])


@dataclass(frozen=True)
class ServedModels:
    """The engines one server runs: an embedder and/or a reranker, and the --compare model."""

    embedder: OnnxEmbedder | None
    reranker: OnnxReranker | None
    compare: OnnxEmbedder | None
    versions: tuple[OnnxEmbedder, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)

    def load(self, export_dir: Path) -> OnnxEmbedder:
        """Load another version of the embedder, as the server loads it (POST /v1/versions).

        Raises:
            ManifestError, ModelError: not a loadable export; ConfigError: a reranker export.
        """
        from edgembed.runtime import OnnxEmbedder

        _check_embedder(export_dir)
        return OnnxEmbedder(export_dir, **self.options)


def load_models(export_dir: Path, settings: ServeSettings) -> ServedModels:
    """Load EXPORT_DIR as what its manifest says it is (an embedder or a reranker), with the
    --reranker and --compare exports.

    Raises:
        ConfigError: two rerankers, or a reranker with --compare.
        ManifestError: a folder is not a whole, untouched export.
    """
    from edgembed.formats.manifest import read_manifest
    from edgembed.runtime import OnnxEmbedder, OnnxReranker

    options: dict[str, Any] = {
        "variant": settings.variant,
        "threads": settings.threads,
        "engine": settings.engine,
    }
    primary_is_reranker = read_manifest(export_dir).kind == "reranker"
    if primary_is_reranker and settings.versions:
        raise ConfigError("--version serves versions of an embedding model, not of a reranker.")
    for version in settings.versions:
        _check_embedder(version)
    if primary_is_reranker and settings.reranker is not None:
        raise ConfigError(
            f"{export_dir} is a reranker export already: pass an embedding export first, then "
            "--reranker RERANKER_EXPORT."
        )
    reranker_dir = export_dir if primary_is_reranker else settings.reranker
    return ServedModels(
        embedder=None if primary_is_reranker else OnnxEmbedder(export_dir, **options),
        reranker=OnnxReranker(reranker_dir, **options) if reranker_dir else None,
        # The --compare export (e.g. the base model) only ranks the corpus beside this one.
        compare=OnnxEmbedder(settings.compare, **options) if settings.compare else None,
        versions=tuple(OnnxEmbedder(version, **options) for version in settings.versions),
        options=options,
    )


def _check_embedder(export_dir: Path) -> None:
    from edgembed.formats.manifest import read_manifest

    if read_manifest(export_dir).kind != "embedder":
        raise ConfigError(f"{export_dir} is a reranker export, not a version of an embedder.")


def _announcement(models: ServedModels, settings: ServeSettings) -> str:
    where = f"http://{settings.host}:{settings.port}"
    parts = []
    if models.embedder is not None:
        engine = models.embedder
        runs = engine.variant
        if engine.precision != engine.variant:  # OpenVINO computes the fp32 file in bf16
            runs = f"{engine.variant} file in {engine.precision}"
        name = settings.model_name or engine.model_name
        beside = "".join(f", with {name}@v{other.version}" for other in models.versions)
        parts.append(
            f"'{name}' v{engine.version}{beside} ({engine.dimension} dims, {runs} on "
            f"{engine.engine}) on {where}/v1/embeddings (Ollama: /api/embed)"
        )
    if models.reranker is not None:
        parts.append(
            f"the reranker '{models.reranker.model_name}' ({models.reranker.variant}) on "
            f"{where}/v1/rerank (text-embeddings-inference: /rerank)"
        )
    return (
        f"Serving {' and '.join(parts)}, docs at {where}/docs. Ctrl+C stops it after the "
        "requests in flight."
    )


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
