"""Request and response bodies of the API (msgspec structs: decoded, validated and encoded fast).

The shapes are OpenAI's and Ollama's; the OpenAPI schema at /docs is generated from them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar.openapi.spec import OpenAPIType, Schema
from litestar.params import KwargDefinition

InputType = Literal["query", "document"]
PromptName = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
NOT_BLANK = r"\S"
"""The pattern of a text that must hold more than spaces (re.search: one non-space)."""

__all__ = [
    "EmbeddingData",
    "EmbeddingRequest",
    "EmbeddingResponse",
    "ErrorBody",
    "ErrorEnvelope",
    "FeedbackReceipt",
    "FeedbackRequest",
    "InputType",
    "InputTypeCard",
    "ModelCard",
    "ModelList",
    "NOT_BLANK",
    "OllamaEmbedRequest",
    "OllamaEmbedResponse",
    "PlaygroundInfo",
    "SearchHit",
    "SearchRequest",
    "SearchResponse",
    "SearchResults",
    "Status",
    "Usage",
]


# The OpenAPI schema of `input` and `dimensions` states exactly what the server accepts. The
# types stay loose (msgspec cannot tell a list of texts from a list of token ids in a union),
# so `inputs.InputEncoder` checks the rest and answers with messages that say what to send.
_TEXT = Schema(type=OpenAPIType.STRING, min_length=1)
_TOKEN_ID = Schema(type=OpenAPIType.INTEGER, minimum=0)
_NULL = Schema(type=OpenAPIType.NULL)


def _list_of(item: Schema) -> Schema:
    return Schema(type=OpenAPIType.ARRAY, items=item, min_items=1)


OpenAIInput = Annotated[
    str | list[str | int | list[int]],
    KwargDefinition(
        schema_extra={
            "one_of": [_TEXT, _list_of(_TEXT), _list_of(_TOKEN_ID), _list_of(_list_of(_TOKEN_ID))]
        }
    ),
]
OllamaInput = Annotated[
    str | list[str], KwargDefinition(schema_extra={"one_of": [_TEXT, _list_of(_TEXT)]})
]
Dimensions = Annotated[
    int | None,
    KwargDefinition(schema_extra={"one_of": [Schema(type=OpenAPIType.INTEGER, minimum=1), _NULL]}),
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
        input_type: ``query`` or ``document``: what the texts are. It picks the model's
            prompt for that side (e5's "query: " / "passage: ", an instruction for queries);
            only queries are ever written to the query log (``serve --log-queries``). The
            model ids ``NAME:query`` and ``NAME:document`` say the same for clients that
            cannot send this field.
        prompt_name: one of the model's prompts by name (as text-embeddings-inference takes
            it), over `input_type`'s; GET /v1/models lists them.
    """

    input: OpenAIInput
    model: str
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: Dimensions = None
    user: str | None = None
    truncate: bool | None = None
    input_type: InputType | None = None
    prompt_name: PromptName | None = None


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
        input_type, prompt_name: as in `EmbeddingRequest`.
    """

    model: str
    input: OllamaInput
    truncate: bool | None = None
    dimensions: Dimensions = None
    options: dict[str, Any] | None = None
    keep_alive: str | int | float | None = None
    input_type: InputType | None = None
    prompt_name: PromptName | None = None


class OllamaEmbedResponse(msgspec.Struct):
    """Ollama's /api/embed response (durations in nanoseconds)."""

    model: str
    embeddings: list[list[float]]
    total_duration: int
    load_duration: int
    prompt_eval_count: int


class ModelCard(msgspec.Struct, kw_only=True):
    """One entry of /v1/models: OpenAI's fields plus what a client needs to know.

    Attributes:
        prompts: the model's prompts by name (``prompt_name``).
        input_types: the prompt each ``input_type`` gets (null: none), and the model id
            that gets it without the field.
        default_prompt_name: the prompt a request that names none gets (null: none).
    """

    id: str
    object: str = "model"
    created: int
    owned_by: str = "edgembed"
    dimension: int
    max_seq_length: int
    truncation: str
    prompts: dict[str, str] = {}
    input_types: dict[str, InputTypeCard] = {}
    default_prompt_name: str | None = None


class InputTypeCard(msgspec.Struct, kw_only=True):
    """What one input type gets: its prompt (by name; null: none) and the model id that
    selects it for clients that cannot send ``input_type``."""

    prompt_name: str | None
    model: str


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


class FeedbackRequest(msgspec.Struct, forbid_unknown_fields=True):
    """POST /v1/feedback: whether a passage answered a query.

    Attributes:
        query: the question as it was asked.
        relevant: true when the passage answers the query, false when it does not.
        chunk_id: the passage's id, as /v1/search returns it (give it, `passage`, or both).
        passage: the passage's text, for passages from outside the served corpus.
        model: which model ranked the passage (the playground sends the column's model).
    """

    query: Annotated[str, msgspec.Meta(max_length=4000, pattern=NOT_BLANK)]
    relevant: bool
    chunk_id: Annotated[str, msgspec.Meta(max_length=200, pattern=NOT_BLANK)] | None = None
    passage: Annotated[str, msgspec.Meta(max_length=100_000, pattern=NOT_BLANK)] | None = None
    model: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class FeedbackReceipt(msgspec.Struct, kw_only=True):
    """The stored row's id: the row is on disk when this is sent."""

    object: str = "feedback"
    id: int


class SearchRequest(msgspec.Struct, forbid_unknown_fields=True):
    """POST /v1/search: the served corpus's passages closest to a query.

    Attributes:
        query: the question.
        top_k: how many passages to return per model (1 to 50).
    """

    query: Annotated[str, msgspec.Meta(max_length=4000, pattern=NOT_BLANK)]
    top_k: Annotated[int, msgspec.Meta(ge=1, le=50)] = 5


class SearchHit(msgspec.Struct, kw_only=True):
    """One passage and its cosine similarity to the query."""

    rank: int
    score: float
    chunk_id: str
    doc: str
    title: str
    section: str
    text: str


class SearchResults(msgspec.Struct, kw_only=True):
    """One model's ranking: the served model's, or the compared one's."""

    model: str
    role: Literal["served", "compare"]
    took_ms: float
    hits: list[SearchHit]


class SearchResponse(msgspec.Struct, kw_only=True):
    """The rankings of every model the server searches with, the served model first."""

    object: str = "search"
    query: str
    results: list[SearchResults]


class PlaygroundInfo(msgspec.Struct, kw_only=True):
    """What the playground page needs to know about this server."""

    models: list[str]
    passages: int
    indexed: bool
    feedback: bool
