"""`edgembed serve`'s settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from edgembed.config.base import DEFAULT_ENGINE, check_engines
from edgembed.errors import ConfigError

__all__ = ["ServeSettings"]


@dataclass(frozen=True)
class ServeSettings:
    """How `edgembed serve` listens, batches and guards the embedding server.

    Attributes:
        host, port: the address to bind (127.0.0.1:8001; use 0.0.0.0 only behind a firewall).
        api_key: when set, /v1/* and /api/* require ``Authorization: Bearer <api_key>``.
        model_name: the model id reported by /v1/models and accepted in requests; None: the
            export's own name.
        variant: which ONNX file of the export to run: ``int8`` (quantized), ``fp32``, or
            ``auto``: int8 where the export validated it on this CPU's int8 class, else fp32.
        engine: what runs the ONNX file: ``onnxruntime`` (every variant) or ``openvino``
            (OpenVINO's own runtime, the fp32 file only, in bf16 on CPUs with bf16 units;
            needs the ``openvino`` extra).
        threads: the engine's intra-op threads; None: one per core.
        max_batch_tokens: the padded-token budget of one model call; concurrent requests are
            merged until the next one would exceed it.
        max_wait_ms: how long a batch waits for more requests when traffic is concurrent
            (a lone client never waits).
        max_queue: requests allowed to wait for the model; more are refused with 503 and
            Retry-After.
        max_inputs: inputs allowed in one request (OpenAI's limit is 2048).
        max_request_tokens: tokens allowed in one request, all inputs together (after
            truncation, special tokens included); more are refused with 400.
        max_body_bytes: request bodies larger than this are refused with 413.
        header_timeout_s: a connection must deliver a request's headers within this many
            seconds of opening (or of its previous response); else it gets 408 and is closed.
        body_timeout_s: a request's body must arrive within this many seconds of its headers.
        write_timeout_s: once a client stops taking its answer as fast as it is written (the
            socket's buffers full), it must take the rest within this many seconds; else the
            connection is cut.
        max_connections: connections held at once; more are answered 503 and closed.
        shutdown_timeout_s: on SIGTERM, how long requests in flight may still run before they
            are cancelled (stay under the orchestrator's grace period: Kubernetes' is 30 s).
        cors_origins: browser origins allowed to call the API (none by default).
        allowed_hosts: without an API key, the host names the server answers besides
            127.0.0.1, localhost, [::1], `host` and IP addresses (``*``: every name); a
            request for another name gets 421 (see `edgembed.server.hosts`).
        truncate: inputs longer than the model's limit are cut to it (True) or refused with
            400 (False); a request can override this with its ``truncate`` field.
        log_queries: append the texts of requests marked ``input_type: "query"`` (and the
            playground's searches) to this JSONL file; None: log nothing.
        log_queries_max_mb: the query log's size cap; a full log is renamed to ``PATH.1``
            (replacing the previous one) and a new one started.
        feedback_db: the SQLite file where POST /v1/feedback stores its rows; None: the route
            answers 404.
        feedback_max_mb: the feedback database's size cap; past it a row is refused with 409.
        corpus: a chunks.jsonl file (or a workspace holding one) whose passages POST
            /v1/search and the playground page at / search; None: no search.
        compare: a second export folder (e.g. of the base model) searched beside the served
            model, so the playground shows both; needs ``corpus``.
        reranker: a reranker export folder served beside the embedder (POST /v1/rerank), and
            search's rerank stage.
        rerank_top: how many of the first stages' best passages search's reranker reads.
        hybrid_weight: BM25's share in search's hybrid stage; None: the measured default
            (`edgembed.evaluation.hybrid.HYBRID_WEIGHT`, 0.3); 0: off.
        versions: more export folders of the served model, served from the start as versions
            beside it (``NAME@vN``); the served export stays the default.
        versions_dir: the folder whose exports POST /v1/versions may load while the server
            runs; None: loading is off.
    """

    host: str = "127.0.0.1"
    port: int = 8001
    api_key: str | None = field(default=None, repr=False)
    model_name: str | None = None
    variant: str = "auto"
    engine: str = DEFAULT_ENGINE
    threads: int | None = None
    max_batch_tokens: int = 8192
    max_wait_ms: float = 2.0
    max_queue: int = 256
    max_inputs: int = 2048
    max_request_tokens: int = 131072
    max_body_bytes: int = 8 * 1024 * 1024
    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    write_timeout_s: float = 30.0
    max_connections: int = 512
    shutdown_timeout_s: int = 20
    cors_origins: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()
    truncate: bool = True
    log_queries: Path | None = None
    log_queries_max_mb: float = 64.0
    feedback_db: Path | None = None
    feedback_max_mb: float = 64.0
    corpus: Path | None = None
    compare: Path | None = None
    reranker: Path | None = None
    rerank_top: int = 20
    hybrid_weight: float | None = None
    versions: tuple[Path, ...] = ()
    versions_dir: Path | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.rerank_top <= 1000:
            raise ConfigError(f"rerank_top must be between 1 and 1000, got {self.rerank_top}")
        if self.hybrid_weight is not None and not 0 <= self.hybrid_weight < 1:
            raise ConfigError(f"hybrid_weight must be in [0, 1), got {self.hybrid_weight}")
        for name in ("log_queries_max_mb", "feedback_max_mb"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be above 0, got {getattr(self, name)}")
        if self.compare is not None and self.corpus is None:
            raise ConfigError("compare needs a corpus to search: pass corpus as well")
        if not 1 <= self.port <= 65535:
            raise ConfigError(f"port must be between 1 and 65535, got {self.port}")
        if self.variant not in ("auto", "int8", "fp32"):
            raise ConfigError(f"variant must be 'auto', 'int8' or 'fp32', got '{self.variant}'")
        check_engines((self.engine,))
        if self.api_key is not None:
            _check_api_key(self.api_key)
        if any(not host.strip() for host in self.allowed_hosts):
            raise ConfigError("an allowed host is empty: pass a host name, or '*' for any")
        if self.model_name is not None and not self.model_name.strip():
            raise ConfigError("model_name is empty: pass a name or leave it unset")
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"threads must be at least 1, got {self.threads}")
        for name in ("max_batch_tokens", "max_queue", "max_inputs", "max_request_tokens"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.max_body_bytes < 1:
            raise ConfigError(f"max_body_bytes must be at least 1, got {self.max_body_bytes}")
        self._check_connection_limits()
        if not 0 <= self.max_wait_ms <= 1000:
            raise ConfigError(f"max_wait_ms must be between 0 and 1000, got {self.max_wait_ms}")

    def _check_connection_limits(self) -> None:
        if self.max_connections < 1:
            raise ConfigError(f"max_connections must be at least 1, got {self.max_connections}")
        for name in ("header_timeout_s", "body_timeout_s", "write_timeout_s"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be above 0, got {getattr(self, name)}")
        if self.shutdown_timeout_s < 0:
            raise ConfigError(
                f"shutdown_timeout_s must be 0 or more, got {self.shutdown_timeout_s}"
            )


def _check_api_key(key: str) -> None:
    if not key.strip():
        raise ConfigError("the API key is empty: pass a real key or leave it unset")
    # Header values travel as ASCII: httpx (the openai SDK) cannot send any other character,
    # and a client that sends UTF-8 bytes would be compared against another encoding.
    if not all("!" <= char <= "~" for char in key):
        raise ConfigError(
            "the API key holds a space or a character outside visible ASCII: a Bearer token "
            "has no spaces, and header values are ASCII (the openai SDK cannot send any other "
            "character). Use letters, digits and punctuation only, e.g. a key from "
            "`python -c 'import secrets; print(secrets.token_urlsafe())'`."
        )
