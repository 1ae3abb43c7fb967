"""Request and response bodies of the API (msgspec structs: decoded, validated and encoded fast).

The shapes are OpenAI's and Ollama's; the OpenAPI schema at /docs is generated from them.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

__all__ = [
    "EmbeddingData",
    "EmbeddingRequest",
    "EmbeddingResponse",
    "ErrorBody",
    "ErrorEnvelope",
    "ModelCard",
    "ModelList",
    "OllamaEmbedRequest",
    "OllamaEmbedResponse",
    "Status",
    "Usage",
]


class EmbeddingRequest(msgspec.Struct):
    """OpenAI's embeddings request, plus edgembed's ``truncate``.

    Attributes:
        input: a text, a list of texts, a list of token ids, or a list of lists of token ids
            (content tokens of the model's vocabulary; the server adds [CLS]/[SEP]).
        model: the served model's id, as /v1/models lists it.
        encoding_format: ``float`` (JSON numbers) or ``base64`` (little-endian float32 bytes,
            what the openai SDK asks for by default).
        dimensions: keep the first N dimensions and re-normalise (1 to the model's size).
        user: an end-user id, accepted for compatibility and ignored.
        truncate: false: refuse inputs longer than the model's limit with 400 instead of
            cutting them (with the openai SDK: ``extra_body={"truncate": False}``).
    """

    input: str | list[str | int | list[int]]
    model: str
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = None
    user: str | None = None
    truncate: bool | None = None


class EmbeddingData(msgspec.Struct, kw_only=True):
    """One embedding: a list of floats, or base64 of its little-endian float32 bytes."""

    object: str = "embedding"
    index: int
    embedding: list[float] | str


class Usage(msgspec.Struct):
    """Tokens the model ran on, special tokens included."""

    prompt_tokens: int
    total_tokens: int


class EmbeddingResponse(msgspec.Struct, kw_only=True):
    """OpenAI's embeddings response."""

    object: str = "list"
    data: list[EmbeddingData]
    model: str
    usage: Usage


class OllamaEmbedRequest(msgspec.Struct):
    """Ollama's /api/embed request.

    Attributes:
        model: the served model's id (``name`` or ``name:latest``).
        input: a text or a list of texts.
        truncate: false: refuse inputs longer than the model's limit with 400 (default: cut).
        dimensions: keep the first N dimensions and re-normalise.
        options, keep_alive: accepted for compatibility and ignored.
    """

    model: str
    input: str | list[str]
    truncate: bool | None = None
    dimensions: int | None = None
    options: dict[str, Any] | None = None
    keep_alive: str | int | float | None = None


class OllamaEmbedResponse(msgspec.Struct):
    """Ollama's /api/embed response (durations in nanoseconds)."""

    model: str
    embeddings: list[list[float]]
    total_duration: int
    load_duration: int
    prompt_eval_count: int


class ModelCard(msgspec.Struct, kw_only=True):
    """One entry of /v1/models: OpenAI's fields plus what a client needs to know."""

    id: str
    object: str = "model"
    created: int
    owned_by: str = "edgembed"
    dimension: int
    max_seq_length: int
    truncation: str


class ModelList(msgspec.Struct, kw_only=True):
    """OpenAI's model list."""

    object: str = "list"
    data: list[ModelCard]


class Status(msgspec.Struct):
    """Answer of /health and /ready."""

    status: str
    model: str


class ErrorBody(msgspec.Struct):
    """What went wrong: a message for people, a type, the field at fault and a code."""

    message: str
    type: str
    param: str | None
    code: str | None


class ErrorEnvelope(msgspec.Struct):
    """OpenAI's error envelope, used by every route for every error."""

    error: ErrorBody
