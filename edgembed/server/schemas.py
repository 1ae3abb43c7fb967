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
    "RerankDocument",
    "RerankRequest",
    "RerankResponse",
    "RerankResult",
    "RerankResultDocument",
    "RerankUsage",
    "SearchHit",
    "SearchRequest",
    "SearchResponse",
    "SearchResults",
    "StageTiming",
    "Status",
    "TeiRerankRequest",
    "TeiRerankResult",
    "Usage",
    "LoadVersionRequest",
    "SwitchRequest",
    "VersionCard",
    "VersionList",
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
        version: the model version this id serves (for the plain name: the default one).
        versions: on the plain name's card, every version loaded (each has its own NAME@vN
            card).
    """

    id: str
    object: str = "model"
    kind: Literal["embedder", "reranker"] = "embedder"
    created: int
    owned_by: str = "edgembed"
    dimension: int
    max_seq_length: int
    truncation: str
    prompts: dict[str, str] = {}
    input_types: dict[str, InputTypeCard] = {}
    default_prompt_name: str | None = None
    version: int | None = None
    versions: list[int] = []


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
    """Answer of /health and /ready: the first model served, and every one."""

    status: str
    model: str
    models: list[str] = []


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
    """One passage and its score by the last stage that scored it (`scored_by`: dense's
    cosine similarity, hybrid's fused rank score, or the reranker's score)."""

    rank: int
    score: float
    scored_by: Literal["dense", "hybrid", "rerank"] = "dense"
    chunk_id: str
    doc: str
    title: str
    section: str
    text: str


class StageTiming(msgspec.Struct, kw_only=True):
    """One stage of a search (dense, hybrid, rerank) and what it took."""

    name: Literal["dense", "hybrid", "rerank"]
    took_ms: float
    detail: str = ""


class SearchResults(msgspec.Struct, kw_only=True):
    """One model's ranking: the served model's, or the compared one's, and its stages."""

    model: str
    role: Literal["served", "compare"]
    took_ms: float
    hits: list[SearchHit]
    stages: list[StageTiming] = []


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
    stages: list[str] = []
    marks: bool = False


RerankText = Annotated[str, msgspec.Meta(min_length=1)]


class RerankDocument(msgspec.Struct):
    """A document given as an object, as Cohere's API also takes it (its other fields are
    accepted and ignored)."""

    text: RerankText


class RerankRequest(msgspec.Struct):
    """POST /v1/rerank, in the shape Cohere's and Jina's rerank APIs take (fields of theirs
    not listed here are accepted and ignored, as with OpenAI's embeddings request).

    Attributes:
        model: the reranker's id, as /v1/models lists it.
        query: the question.
        documents: the passages to score against it (texts, or ``{"text": ...}`` objects).
        top_n: return only the best N (default: all, best first).
        return_documents: also return each result's text.
        truncate: false: refuse a (query, document) pair over the model's window with 400
            instead of cutting the document's end.
    """

    model: str
    query: Annotated[str, msgspec.Meta(min_length=1, max_length=100_000)]
    documents: Annotated[list[RerankText | RerankDocument], msgspec.Meta(min_length=1)]
    top_n: Annotated[int, msgspec.Meta(ge=1)] | None = None
    return_documents: bool = False
    truncate: bool | None = None


class RerankResultDocument(msgspec.Struct):
    """A result's text, as Cohere and Jina return it."""

    text: str


class RerankResult(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One document's score: its place in the request, and its text when asked for."""

    index: int
    relevance_score: float
    document: RerankResultDocument | None = None


class RerankUsage(msgspec.Struct):
    """Tokens the model read, every pair's special tokens included."""

    prompt_tokens: int
    total_tokens: int


class RerankResponse(msgspec.Struct, kw_only=True):
    """Cohere's and Jina's rerank answer: results best first."""

    id: str
    object: str = "rerank"
    model: str
    results: list[RerankResult]
    usage: RerankUsage
    meta: dict[str, Any]


class TeiRerankRequest(msgspec.Struct):
    """POST /rerank, as text-embeddings-inference takes it.

    Attributes:
        query: the question.
        texts: the passages to score.
        raw_scores: the model's logits instead of its activated scores.
        return_text: also return each result's text.
        truncate: as in `RerankRequest`.
    """

    query: Annotated[str, msgspec.Meta(min_length=1, max_length=100_000)]
    texts: Annotated[list[RerankText], msgspec.Meta(min_length=1)]
    raw_scores: bool = False
    return_text: bool = False
    truncate: bool | None = None


class TeiRerankResult(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One text's score, as text-embeddings-inference returns it."""

    index: int
    score: float
    text: str | None = None


class VersionCard(msgspec.Struct, kw_only=True):
    """One loaded version of the served model."""

    id: str
    version: int
    default: bool
    ready: bool
    export: str
    loaded: int
    improved_from: str | None = None
    lineage: dict[str, Any] = {}


class VersionList(msgspec.Struct, kw_only=True):
    """The served model's loaded versions and which one its plain name serves."""

    object: str = "list"
    model: str
    default: int
    previous: int | None
    can_load: bool
    data: list[VersionCard]


class LoadVersionRequest(msgspec.Struct, forbid_unknown_fields=True):
    """An export folder to load as a version, relative to the server's versions folder."""

    export: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]


class SwitchRequest(msgspec.Struct, forbid_unknown_fields=True):
    """The version the model's plain name serves from now on."""

    version: Annotated[int, msgspec.Meta(ge=1)]
