"""The routes: OpenAI's embeddings and models, Ollama's /api/embed, health, readiness, metrics."""

from __future__ import annotations

import time
from typing import Any, cast

from litestar import Request, get, post
from litestar.datastructures import ResponseHeader
from litestar.response import Response
from prometheus_client import CONTENT_TYPE_LATEST

from edgembed.errors import RequestError
from edgembed.server.model_ids import INPUT_TYPE_SUFFIXES
from edgembed.server.openapi import EMBED_ERRORS, error_responses
from edgembed.server.querylog import record_queries
from edgembed.server.rerank import RerankService
from edgembed.server.responses import ollama_response, openai_response
from edgembed.server.schemas import (
    EmbeddingRequest,
    EmbeddingResponse,
    InputTypeCard,
    ModelCard,
    ModelList,
    OllamaEmbedRequest,
    OllamaEmbedResponse,
    Status,
)
from edgembed.server.service import Embedded, EmbeddingService
from edgembed.server.versions import ModelVersions

__all__ = ["API_ROUTES", "OPEN_ROUTES"]

AnyRequest = Request[Any, Any, Any]


_TRUNCATED = ResponseHeader(
    name="X-Edgembed-Truncated",
    value="0",  # documents the header as a string; each response sets its own count
    documentation_only=True,
    required=True,
    description="How many inputs were cut to the model's length limit.",
)
_PROMPT = ResponseHeader(
    name="X-Edgembed-Prompt",
    value="none",
    documentation_only=True,
    required=True,
    description="The prompt the inputs got, by name ('none': no prompt).",
)
_MODEL = ResponseHeader(
    name="X-Edgembed-Model",
    value="NAME@v1",
    documentation_only=True,
    required=True,
    description="The model version that made the embeddings (NAME@vN).",
)
_EMBED_HEADERS = [_TRUNCATED, _PROMPT, _MODEL]


def _headers(result: Embedded, service: EmbeddingService) -> dict[str, str]:
    return {
        "X-Edgembed-Truncated": str(result.truncated),
        "X-Edgembed-Prompt": result.prompt_name or "none",
        "X-Edgembed-Model": service.model_id,
    }


def _service(request: AnyRequest, model: str) -> EmbeddingService:
    """The version of the embedding model that `model` names, or a 404 (another model, a
    version not loaded, or a server of a reranker alone)."""
    versions = cast(ModelVersions | None, request.app.state.versions)
    if versions is None:
        rerank: RerankService = request.app.state.rerank
        raise RequestError(
            f"This server serves the reranker '{rerank.model_name}' only: POST /v1/rerank. "
            "Serve an embedding export (with --reranker for both) to embed.",
            status=404,
            code="embeddings_disabled",
        )
    return versions.resolve(model)[0]


def _models(request: AnyRequest) -> list[ModelVersions | RerankService]:
    """Every model the server serves: the embedder (its versions), then the reranker."""
    state = request.app.state
    return [part for part in (state.versions, state.rerank) if part is not None]


@post(
    "/v1/embeddings",
    status_code=200,
    tags=["OpenAI"],
    responses=EMBED_ERRORS,
    response_headers=_EMBED_HEADERS,
)
async def create_embeddings(
    data: EmbeddingRequest, request: AnyRequest
) -> Response[EmbeddingResponse]:
    """Create embeddings, as OpenAI's API does (the official `openai` SDK works unchanged).

    Inputs over the model's length limit are truncated unless `truncate` is false; the
    `X-Edgembed-Truncated` header says how many were. The model's prompt for `input_type`
    (or the one `prompt_name` names, or the model id's ``:query``/``:document``) goes in
    front of each text; `X-Edgembed-Prompt` says which.
    """
    service = _service(request, data.model)
    result = await _embed(service, data, request)
    body = openai_response(
        result.vectors,
        model=service.model_id,
        tokens=result.tokens,
        encoding_format=data.encoding_format,
    )
    return Response(body, headers=_headers(result, service))


@post(
    "/api/embed",
    status_code=200,
    tags=["Ollama"],
    responses=EMBED_ERRORS,
    response_headers=_EMBED_HEADERS,
)
async def ollama_embed(
    data: OllamaEmbedRequest, request: AnyRequest
) -> Response[OllamaEmbedResponse]:
    """Create embeddings, as Ollama's /api/embed does (an Ollama client only changes its host)."""
    started = time.perf_counter_ns()
    service = _service(request, data.model)
    result = await _embed(service, data, request)
    body = ollama_response(
        result.vectors,
        model=data.model,
        tokens=result.tokens,
        total_ns=time.perf_counter_ns() - started,
    )
    return Response(body, headers=_headers(result, service))


async def _embed(
    service: EmbeddingService, data: EmbeddingRequest | OllamaEmbedRequest, request: AnyRequest
) -> Embedded:
    """Embed a request's input as it asks (both routes take the same fields) and log it."""
    result = await service.embed(
        data.input,
        model=data.model,
        dimensions=data.dimensions,
        truncate=data.truncate,
        input_type=data.input_type,
        prompt_name=data.prompt_name,
        receive=request.receive,
    )
    await record_queries(request, data.input, result.input_type, service.model_id)
    return result


@get("/v1/models", tags=["OpenAI"], responses=error_responses(401))
async def list_models(request: AnyRequest) -> ModelList:
    """The served models (an embedder, a reranker or both), with their dimension, length
    limit, truncation policy and prompts; the embedder once by its name (its default version)
    and once per loaded version (NAME@vN)."""
    cards: list[ModelCard] = []
    for part in _models(request):
        if isinstance(part, ModelVersions):
            cards.append(_model_card(part.current, part))
            cards += [_model_card(version.service) for version in part.loaded]
        else:
            cards.append(_reranker_card(part))
    return ModelList(data=cards)


@get("/v1/models/{model:str}", tags=["OpenAI"], responses=error_responses(400, 401, 404))
async def retrieve_model(model: str, request: AnyRequest) -> ModelCard:
    """One model by id (404 in OpenAI's shape for any id but a served one)."""
    parts = _models(request)
    for part in parts:
        try:
            if isinstance(part, RerankService):
                part.check_model(model)
                return _reranker_card(part)
            service, ref = part.resolve(model)
        except RequestError:
            if part is parts[-1]:
                raise
            continue
        return _model_card(service, part if ref.version is None else None)
    raise AssertionError("unreachable: a server serves at least one model")


def _status(request: AnyRequest, status: str) -> Status:
    names = [_name(part) for part in _models(request)]
    return Status(status=status, model=names[0], models=names)


@get("/health", tags=["Operations"], responses=error_responses(503))
async def health(request: AnyRequest) -> Status:
    """Alive: the process answers HTTP and its model can serve (503 once the default
    version's warm-up failed: restart it)."""
    versions = cast(ModelVersions | None, request.app.state.versions)
    if versions is not None:
        versions.current.require_alive()
    return _status(request, "ok")


@get("/ready", tags=["Operations"], responses=error_responses(503))
async def ready(request: AnyRequest) -> Status:
    """Ready: every model is loaded and has answered a warm-up batch (503 until then)."""
    versions = cast(ModelVersions | None, request.app.state.versions)
    if versions is not None:
        versions.current.require_alive()
    for part in _models(request):
        if not part.ready:
            raise RequestError(
                f"The model '{_name(part)}' is still warming up; retry in a moment.",
                status=503,
                code="not_ready",
                retry_after=1,
            )
    return _status(request, "ready")


@get("/metrics", tags=["Operations"], include_in_schema=False)
async def metrics(request: AnyRequest) -> Response[bytes]:
    """Prometheus metrics of this server."""
    body = request.app.state.metrics.render()
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def _name(part: ModelVersions | RerankService) -> str:
    return part.name if isinstance(part, ModelVersions) else part.model_name


def _reranker_card(part: RerankService) -> ModelCard:
    return ModelCard(
        id=part.model_name,
        kind="reranker",
        created=part.created,
        dimension=1,
        max_seq_length=part.reranker.max_seq_length,
        truncation=(
            f"a (query, document) pair over {part.reranker.max_seq_length} tokens loses the "
            "document's end; send truncate: false to get a 400 instead"
        ),
    )


def _model_card(service: EmbeddingService, versions: ModelVersions | None = None) -> ModelCard:
    """A version's card (NAME@vN), or with `versions` the card of the plain name (the
    default version, and which versions are loaded)."""
    descriptor = service.embedder.descriptor
    model_id = service.model_name if versions is not None else service.model_id
    input_types = {}
    for input_type in INPUT_TYPE_SUFFIXES:
        try:
            name = descriptor.resolve_prompt(input_type)
        except ValueError:
            continue  # prompts for other tasks only: this input type is refused
        input_types[input_type] = InputTypeCard(prompt_name=name, model=f"{model_id}:{input_type}")
    return ModelCard(
        id=model_id,
        created=service.created,
        dimension=service.embedder.dimension,
        max_seq_length=service.embedder.max_seq_length,
        truncation=service.truncation_policy,
        prompts=dict(descriptor.prompts),
        input_types=input_types,
        default_prompt_name=descriptor.default_prompt_name,
        version=service.version,
        versions=[version.number for version in versions.loaded] if versions else [],
    )


API_ROUTES = [create_embeddings, ollama_embed, list_models, retrieve_model]
"""Routes behind the API key, when one is set."""

OPEN_ROUTES = [health, ready, metrics]
"""Routes always open: probes and the Prometheus scraper."""
