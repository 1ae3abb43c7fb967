"""The routes: OpenAI's embeddings and models, Ollama's /api/embed, health, readiness, metrics."""

from __future__ import annotations

import time
from typing import Any, cast

from litestar import Request, get, post
from litestar.datastructures import ResponseHeader
from litestar.response import Response
from prometheus_client import CONTENT_TYPE_LATEST

from edgembed.server.model_ids import INPUT_TYPE_SUFFIXES
from edgembed.server.openapi import EMBED_ERRORS, error_responses
from edgembed.server.querylog import record_queries
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
_EMBED_HEADERS = [_TRUNCATED, _PROMPT]


def _headers(result: Embedded) -> dict[str, str]:
    return {
        "X-Edgembed-Truncated": str(result.truncated),
        "X-Edgembed-Prompt": result.prompt_name or "none",
    }


def _service(request: AnyRequest) -> EmbeddingService:
    return cast(EmbeddingService, request.app.state.service)


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
    service = _service(request)
    result = await service.embed(
        data.input,
        model=data.model,
        dimensions=data.dimensions,
        truncate=data.truncate,
        input_type=data.input_type,
        prompt_name=data.prompt_name,
        receive=request.receive,
    )
    await record_queries(request, data.input, result.input_type, service.model_name)
    body = openai_response(
        result.vectors,
        model=service.model_name,
        tokens=result.tokens,
        encoding_format=data.encoding_format,
    )
    return Response(body, headers=_headers(result))


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
    service = _service(request)
    result = await service.embed(
        data.input,
        model=data.model,
        dimensions=data.dimensions,
        truncate=data.truncate,
        input_type=data.input_type,
        prompt_name=data.prompt_name,
        receive=request.receive,
    )
    await record_queries(request, data.input, result.input_type, service.model_name)
    body = ollama_response(
        result.vectors,
        model=data.model,
        tokens=result.tokens,
        total_ns=time.perf_counter_ns() - started,
    )
    return Response(body, headers=_headers(result))


@get("/v1/models", tags=["OpenAI"], responses=error_responses(401))
async def list_models(request: AnyRequest) -> ModelList:
    """The served model, with its dimension, length limit and truncation policy."""
    return ModelList(data=[_model_card(_service(request))])


@get("/v1/models/{model:str}", tags=["OpenAI"], responses=error_responses(400, 401, 404))
async def retrieve_model(model: str, request: AnyRequest) -> ModelCard:
    """One model by id (404 in OpenAI's shape for any id but the served one)."""
    service = _service(request)
    service.check_model(model)
    return _model_card(service)


@get("/health", tags=["Operations"], responses=error_responses(503))
async def health(request: AnyRequest) -> Status:
    """Alive: the process answers HTTP and its model can serve (503 once its warm-up failed:
    restart it)."""
    service = _service(request)
    service.require_alive()
    return Status(status="ok", model=service.model_name)


@get("/ready", tags=["Operations"], responses=error_responses(503))
async def ready(request: AnyRequest) -> Status:
    """Ready: the model is loaded and has answered a warm-up batch (503 until then)."""
    service = _service(request)
    service.require_ready()
    return Status(status="ready", model=service.model_name)


@get("/metrics", tags=["Operations"], include_in_schema=False)
async def metrics(request: AnyRequest) -> Response[bytes]:
    """Prometheus metrics of this server."""
    body = _service(request).metrics.render()
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def _model_card(service: EmbeddingService) -> ModelCard:
    descriptor = service.embedder.descriptor
    input_types = {}
    for input_type in INPUT_TYPE_SUFFIXES:
        try:
            name = descriptor.resolve_prompt(input_type)
        except ValueError:
            continue  # prompts for other tasks only: this input type is refused
        input_types[input_type] = InputTypeCard(
            prompt_name=name, model=f"{service.model_name}:{input_type}"
        )
    return ModelCard(
        id=service.model_name,
        created=service.created,
        dimension=service.embedder.dimension,
        max_seq_length=service.embedder.max_seq_length,
        truncation=service.truncation_policy,
        prompts=dict(descriptor.prompts),
        input_types=input_types,
        default_prompt_name=descriptor.default_prompt_name,
    )


API_ROUTES = [create_embeddings, ollama_embed, list_models, retrieve_model]
"""Routes behind the API key, when one is set."""

OPEN_ROUTES = [health, ready, metrics]
"""Routes always open: probes and the Prometheus scraper."""
