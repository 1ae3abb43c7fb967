"""`edgembed serve`: an export folder -> an OpenAI-compatible embedding server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from edgembed.cli.options import CliState, api_key_option, pass_state, threads_option
from edgembed.config import ENGINES, ServeSettings
from edgembed.errors import ManifestError, MissingExtraError
from edgembed.models import find_export
from edgembed.workspace import chunks_file

__all__ = ["serve"]

_DEFAULTS = ServeSettings()


@click.command()
@click.argument("export_dir", type=click.Path(path_type=Path))
@click.option("--host", default=_DEFAULTS.host, show_default=True, help="Address to bind.")
@click.option("--port", type=click.IntRange(1, 65535), default=_DEFAULTS.port, show_default=True)
@api_key_option(
    "Require 'Authorization: Bearer KEY' on /v1 and /api routes. Prefer the "
    "EDGEMBED_API_KEY environment variable: flags show in the process list."
)
@click.option(
    "--model-name",
    default=None,
    help="The model id to report and accept in requests. Default: the export's name.",
)
@click.option(
    "--variant",
    type=click.Choice(["auto", "int8", "fp32"]),
    default=_DEFAULTS.variant,
    show_default=True,
    help="Which ONNX file of the export to run: quantized int8 (faster) or fp32. auto: int8 "
    "when the export validated it on a CPU of this one's int8 class, else fp32 (logged); "
    "int8 refuses such a CPU.",
)
@click.option(
    "--engine",
    type=click.Choice(ENGINES),
    default=_DEFAULTS.engine,
    show_default=True,
    help="What runs the ONNX file. openvino: OpenVINO's own runtime (pip install "
    "'edgembed[openvino]') on the fp32 file, in bf16 on CPUs with AVX512-BF16 or AMX: "
    "fp32's accuracy at int8's speed on 32-text batches, 0.85x on single queries (2-core "
    "dev box); it cannot run the int8 file. See docs/serving.md.",
)
@threads_option("The engine's threads. Default: one per core.")
@click.option(
    "--max-batch-tokens",
    type=click.IntRange(min=1),
    default=_DEFAULTS.max_batch_tokens,
    show_default=True,
    help="Padded-token budget of one model call; concurrent requests are merged up to it. "
    "1 turns batching off.",
)
@click.option(
    "--max-wait-ms",
    type=click.FloatRange(0, 1000),
    default=_DEFAULTS.max_wait_ms,
    show_default=True,
    help="How long a batch may wait for more requests under concurrent traffic "
    "(a lone client never waits).",
)
@click.option(
    "--max-queue",
    type=click.IntRange(min=1),
    default=_DEFAULTS.max_queue,
    show_default=True,
    help="Requests allowed to wait for the model; more get 503 with Retry-After.",
)
@click.option(
    "--max-inputs",
    type=click.IntRange(min=1),
    default=_DEFAULTS.max_inputs,
    show_default=True,
    help="Inputs allowed in one request.",
)
@click.option(
    "--max-request-tokens",
    type=click.IntRange(min=1),
    default=_DEFAULTS.max_request_tokens,
    show_default=True,
    help="Tokens allowed in one request, all inputs together (special tokens included); "
    "more get 400 max_tokens_per_request. The default takes 256 inputs of 512 tokens. "
    "Requests over 2048 tokens are tokenized and embedded in pieces that take turns with "
    "other requests, and stop when their client disconnects or they pass this budget.",
)
@click.option(
    "--max-body-bytes",
    type=click.IntRange(min=1),
    default=_DEFAULTS.max_body_bytes,
    show_default=True,
    help="Larger request bodies get 413.",
)
@click.option(
    "--header-timeout-s",
    type=click.FloatRange(min=0, min_open=True),
    default=_DEFAULTS.header_timeout_s,
    show_default=True,
    help="Seconds a connection has to send a request's headers, from when it opens or its "
    "previous response ends; then it gets 408 and is closed. Stops idle connections and "
    "clients that trickle their headers from holding the server's connections.",
)
@click.option(
    "--body-timeout-s",
    type=click.FloatRange(min=0, min_open=True),
    default=_DEFAULTS.body_timeout_s,
    show_default=True,
    help="Seconds a request's body has to arrive after its headers; then 408. Raise it for "
    "clients on slow links that send large bodies.",
)
@click.option(
    "--write-timeout-s",
    type=click.FloatRange(min=0, min_open=True),
    default=_DEFAULTS.write_timeout_s,
    show_default=True,
    help="Seconds a client has to take the rest of its answer once it stops keeping up with "
    "the server (the socket's buffers full); then the connection is cut, and the memory "
    "the answer held is freed. Raise it for clients on slow links that fetch large answers.",
)
@click.option(
    "--max-connections",
    type=click.IntRange(min=1),
    default=_DEFAULTS.max_connections,
    show_default=True,
    help="Connections held at once; more are answered 503 (Retry-After: 1) and closed.",
)
@click.option(
    "--shutdown-timeout-s",
    type=click.IntRange(min=0),
    default=_DEFAULTS.shutdown_timeout_s,
    show_default=True,
    help="On SIGTERM or Ctrl+C, how long requests in flight may finish before they are "
    "cancelled (half-sent requests are closed at once). Keep it under your orchestrator's "
    "grace period (Kubernetes: 30 s).",
)
@click.option(
    "--cors-origin",
    "cors_origins",
    multiple=True,
    help="A browser origin allowed to call the API (repeatable; none by default).",
)
@click.option(
    "--allowed-host",
    "allowed_hosts",
    multiple=True,
    help="Without an API key, a host name the server answers besides 127.0.0.1, localhost, "
    "[::1], --host and IP addresses (repeatable; '*': any). Other names get 421: a web page "
    "cannot reach the server by pointing its own name at it (DNS rebinding). E.g. the name "
    "clients call it by in a cluster.",
)
@click.option(
    "--truncate/--no-truncate",
    default=_DEFAULTS.truncate,
    show_default=True,
    help="Cut inputs longer than the model's limit, or refuse them with 400. A request "
    "overrides this with its 'truncate' field.",
)
@click.option(
    "--log-queries",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Append the queries the server embeds to this JSONL file (time, text, model), for "
    "training on them later. Only texts a client marks 'input_type: \"query\"' (as "
    "EdgembedEmbeddings.embed_query does) and the playground's searches are logged; documents "
    "and unmarked requests never are. Off by default.",
)
@click.option(
    "--log-queries-max-mb",
    type=click.FloatRange(min=0, min_open=True),
    default=_DEFAULTS.log_queries_max_mb,
    show_default=True,
    help="Size cap of the query log: a full log is renamed to PATH.1 (replacing the previous "
    "one), so at most twice this stays on disk.",
)
@click.option(
    "--feedback-db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Store POST /v1/feedback rows (query, passage, whether it answered) in this SQLite "
    "file, created when missing. Each row is on disk before the request is answered. "
    "Without it the route answers 404.",
)
@click.option(
    "--feedback-max-mb",
    type=click.FloatRange(min=0, min_open=True),
    default=_DEFAULTS.feedback_max_mb,
    show_default=True,
    help="Size cap of the feedback database: past it a row is refused with 409 "
    "feedback_full (train on the marks, then move the file away).",
)
@click.option(
    "--corpus",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="A workspace (or its chunks.jsonl) whose passages the playground page at / and "
    "POST /v1/search rank. They are embedded once at start, in the background.",
)
@click.option(
    "--compare",
    type=click.Path(path_type=Path),
    default=None,
    help="A second export (a folder, or a name under WORKSPACE/exports), e.g. of the base "
    "model, whose ranking the playground shows beside the served model's. Needs --corpus.",
)
@click.option(
    "--reranker",
    type=click.Path(path_type=Path),
    default=None,
    help="A reranker export (a cross-encoder: `edgembed export CROSS_ENCODER_FOLDER`, or "
    "`edgembed train --reranker`) served beside the embedding model: POST /v1/rerank (Cohere's "
    "and Jina's shape), POST /rerank (text-embeddings-inference's), and the rerank stage of "
    "--corpus search. A reranker export given as EXPORT_DIR is served alone.",
)
@click.option(
    "--rerank-top",
    type=click.IntRange(1, 1000),
    default=_DEFAULTS.rerank_top,
    show_default=True,
    help="How many of search's best passages the reranker reads (it reorders them).",
)
@click.option(
    "--hybrid-weight",
    type=click.FloatRange(0, 1, max_open=True),
    default=_DEFAULTS.hybrid_weight,
    help="BM25's share in search's hybrid stage (reciprocal rank fusion with the dense "
    "ranking). Default 0.3: on five sets of real questions it raised NDCG@10 on four (+0.03 to "
    "+0.11) and cost the fifth 0.003 (docs/findings.md, Hybrid); 0 turns it off.",
)
@click.option(
    "--version",
    "versions",
    type=click.Path(path_type=Path),
    multiple=True,
    help="Another version of the served model (an export `edgembed improve` promoted, e.g. "
    "edgembed-model-v2), served beside it as NAME@vN while EXPORT_DIR stays the default; "
    "repeatable. Switch with `edgembed versions default URL N` (docs/serving.md, Versions).",
)
@click.option(
    "--versions-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="The folder whose exports `edgembed versions load` (POST /v1/versions) may load "
    "while the server runs. Default: the folder holding EXPORT_DIR.",
)
@pass_state
def serve(state: CliState, /, export_dir: Path, **options: Any) -> None:
    """Serve the model in EXPORT_DIR with OpenAI's embeddings API (or, for a reranker,
    Cohere's rerank API), on CPU.

    EXPORT_DIR is a folder written by `edgembed export`, or the name of one under
    WORKSPACE/exports. The server answers POST /v1/embeddings (the official openai SDK works
    unchanged; model NAME:query embeds with the model's query prompt for clients that cannot
    send input_type), POST /api/embed (Ollama clients), POST /v1/rerank and /rerank with
    --reranker (or a reranker export as EXPORT_DIR), GET /v1/models, /health, /ready,
    /metrics (Prometheus) and /docs (OpenAPI). Concurrent requests are batched; Ctrl+C or
    SIGTERM finishes the requests in flight, then stops.

    With --corpus, the page at / is a playground: type a question, see the closest passages
    (beside the --compare model's), mark those that answer it (stored with --feedback-db).

    Versions: an export `edgembed improve` promoted is served beside this one with --version
    (or loaded later: `edgembed versions load`) as NAME@v2; the plain NAME stays on the
    default version until `edgembed versions default URL 2` (roll back with
    `edgembed versions rollback URL`).

    \b
    Examples:
      edgembed serve workspace/exports/edgembed-model
      EDGEMBED_API_KEY=secret edgembed serve edgembed-model --port 9000
      curl http://127.0.0.1:8001/v1/embeddings -H 'Content-Type: application/json' \\
        -d '{"model": "edgembed-model", "input": ["How do I reset my password?"]}'
      edgembed serve edgembed-model --corpus . --compare base --feedback-db feedback.db \\
        --log-queries queries.jsonl
      edgembed serve edgembed-model --version edgembed-model-v2 --log-queries queries.jsonl
      edgembed serve edgembed-model --reranker edgembed-model-reranker --corpus .
      curl http://127.0.0.1:8001/v1/rerank -H 'Content-Type: application/json' \\
        -d '{"model": "edgembed-model-reranker", "query": "PTO carry-over?", "documents": ["..."]}'
    """
    corpus, compare, reranker, versions, versions_dir = (
        options.pop("corpus"),
        options.pop("compare"),
        options.pop("reranker"),
        options.pop("versions"),
        options.pop("versions_dir"),
    )
    folder = _find_export(export_dir, state)
    settings = ServeSettings(
        **options,
        corpus=_find_corpus(corpus) if corpus else None,
        compare=_find_export(compare, state, "--compare") if compare else None,
        reranker=_find_export(reranker, state, "--reranker") if reranker else None,
        versions=tuple(_find_export(version, state, "--version") for version in versions),
        versions_dir=versions_dir or folder.parent,
    )
    try:
        from edgembed.server.run import serve as run_server
    except ImportError as exc:
        raise MissingExtraError(exc.name or "litestar", "serve") from exc
    announce = (lambda line: None) if state.verbosity < 0 else click.echo
    run_server(folder, settings, announce=announce, access_log=state.verbosity >= 1)


def _find_export(export_dir: Path, state: CliState, param_hint: str = "EXPORT_DIR") -> Path:
    try:
        return find_export(export_dir, state.workspace)
    except ManifestError as exc:
        raise click.BadParameter(str(exc), param_hint=param_hint) from exc


def _find_corpus(corpus: Path) -> Path:
    chunks = chunks_file(corpus)
    if not chunks.is_file():
        raise click.BadParameter(
            f"{corpus} holds no chunks.jsonl. Pass a workspace after `edgembed chunk DOCS` "
            "(or `edgembed generate DOCS`), or the chunks.jsonl it wrote.",
            param_hint="--corpus",
        )
    return chunks
