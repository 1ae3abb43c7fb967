"""RerankService and POST /v1/rerank (Cohere's and Jina's shape) and POST /rerank
(text-embeddings-inference's): a cross-encoder's scores of (query, document) pairs.

The reranker runs on a model thread of its own, its pairs batched like the embedder's inputs
(`EmbeddingBatcher`), under the same API key, body limit, error envelope and metrics. A score is
what sentence-transformers' ``CrossEncoder.predict`` gives for the pair, so a team's thresholds
carry over.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
from litestar import Request, post
from numpy.typing import NDArray

from edgembed.config import ServeSettings
from edgembed.errors import InputError, RequestError
from edgembed.server.batcher import EmbeddingBatcher
from edgembed.server.disconnect import unless_disconnected
from edgembed.server.model_ids import parse_model_id
from edgembed.server.openapi import error_responses
from edgembed.server.prometheus import ServerMetrics
from edgembed.server.protocol import Reranker
from edgembed.server.schemas import (
    RerankDocument,
    RerankRequest,
    RerankResponse,
    RerankResult,
    RerankResultDocument,
    RerankUsage,
    TeiRerankRequest,
    TeiRerankResult,
)

__all__ = ["RERANK_ROUTES", "Reranked", "RerankService"]

logger = logging.getLogger(__name__)

AnyRequest = Request[Any, Any, Any]
# Documents heavier than this (characters, all together) are paired and tokenized on the model
# thread; lighter ones inline.
_INLINE_CHARS = 20_000


@dataclass(frozen=True)
class Reranked:
    """A request's scores, in document order, and the tokens the model read."""

    scores: NDArray[np.float32]
    tokens: int


class RerankService:
    """Checks a rerank request against the served reranker, pairs and scores its documents."""

    def __init__(self, reranker: Reranker, settings: ServeSettings, metrics: ServerMetrics):
        self.reranker = reranker
        self.settings = settings
        self.metrics = metrics
        self.model_name = reranker.model_name
        self.created = int(time.time())
        self.ready = False
        self._batcher = EmbeddingBatcher(
            reranker,
            max_batch_tokens=settings.max_batch_tokens,
            max_wait_ms=settings.max_wait_ms,
            max_queue=settings.max_queue,
            on_batch=metrics.observe_batch,
        )

    def check_model(self, requested: str | None) -> None:
        """Accept the reranker's id (also as ``id:latest``); None: the one reranker.

        Raises:
            RequestError: 404 for any other model.
        """
        if requested is None or parse_model_id(requested).name == self.model_name:
            return
        shown = requested if len(requested) <= 100 else f"{requested[:100]}..."
        raise RequestError(
            f"The reranker '{shown}' does not exist here. This server reranks with "
            f"'{self.model_name}' (see GET /v1/models).",
            status=404,
            param="model",
            code="model_not_found",
        )

    async def rerank(
        self,
        query: str,
        documents: Sequence[str],
        *,
        model: str | None,
        truncate: bool | None,
        receive: Any = None,
    ) -> Reranked:
        """Score every document against `query`.

        Raises:
            RequestError: unknown model, a blank query or document, too many documents or
                tokens, a pair over the window with truncation off (400), 503 when overloaded.
        """
        self.check_model(model)
        _check(query, documents, self.settings.max_inputs)
        pair = partial(
            self._pairs, query, documents, self.settings.truncate if truncate is None else truncate
        )
        heavy = len(query) + sum(map(len, documents)) > _INLINE_CHARS
        pairs = await self._batcher.run(pair) if heavy else pair()
        tokens = sum(map(len, pairs))
        if tokens > self.settings.max_request_tokens:
            raise RequestError(
                f"This request's pairs hold {tokens} tokens; this server takes at most "
                f"{self.settings.max_request_tokens} per request (serve --max-request-tokens). "
                "Send fewer or shorter documents.",
                param="documents",
                code="max_tokens_per_request",
            )
        work = self._batcher.embed(pairs)
        many = receive is not None and len(self._batcher.pieces(pairs)) > 1
        scores = await (unless_disconnected(work, receive) if many else work)
        self.metrics.tokens.inc(tokens)
        return Reranked(scores[:, 0], tokens)

    def _pairs(self, query: str, documents: Sequence[str], truncate: bool) -> list[Any]:
        try:
            return self.reranker.tokenize_pairs(query, documents, truncate=truncate)
        except InputError as exc:
            raise RequestError(f"{exc}", param="documents", code="context_length_exceeded") from exc

    @asynccontextmanager
    async def lifespan(self, _app: object) -> AsyncIterator[None]:
        """Run the reranker's model thread while the app runs; warm it up in the background."""
        self._batcher.start()
        warm_up = asyncio.create_task(self._warm_up())
        try:
            yield
        finally:
            await warm_up
            await self._batcher.close()

    async def _warm_up(self) -> None:
        started = time.perf_counter()
        try:
            await self.rerank("warm up", ["a passage"], model=None, truncate=True)
        except Exception:  # the server stays alive but not ready; /ready tells the operator
            logger.exception("warming up the reranker failed")
            return
        self.ready = True
        logger.info("reranker warmed up in %.0f ms", (time.perf_counter() - started) * 1000)


def _check(query: str, documents: Sequence[str], most: int) -> None:
    if not query.strip():
        raise RequestError("`query` is blank: send the question to rerank for.", param="query")
    if len(documents) > most:
        raise RequestError(
            f"`documents` holds {len(documents)} items; this server reranks at most {most} per "
            "request (serve --max-inputs). Rerank a first stage's top candidates, not a corpus.",
            param="documents",
        )
    for index, document in enumerate(documents):
        if not document.strip():
            raise RequestError(f"documents[{index}] is blank: send some text.", param="documents")


def _texts(documents: Sequence[str | RerankDocument]) -> list[str]:
    return [d if isinstance(d, str) else d.text for d in documents]


def _service(request: AnyRequest) -> RerankService:
    service: RerankService | None = request.app.state.get("rerank")
    if service is None:
        raise RequestError(
            "This server has no reranker. Serve a reranker export (`edgembed serve "
            "RERANKER_EXPORT`, or `edgembed serve EMBEDDING_EXPORT --reranker RERANKER_EXPORT`).",
            status=404,
            code="rerank_disabled",
        )
    return service


def _best_first(scores: NDArray[np.float32], top_n: int | None) -> list[int]:
    order = np.argsort(-scores, kind="stable")
    return [int(i) for i in order[: top_n or len(order)]]


_ERRORS = error_responses(400, 401, 404, 413, 415, 503)


@post(["/v1/rerank", "/v2/rerank"], status_code=200, tags=["Rerank"], responses=_ERRORS)
async def rerank(data: RerankRequest, request: AnyRequest) -> RerankResponse:
    """Score `documents` against `query` with the cross-encoder, best first, as Cohere's (v1
    and v2) and Jina's rerank APIs answer: their SDKs, pointed at this server, work
    unchanged."""
    service = _service(request)
    texts = _texts(data.documents)
    result = await service.rerank(
        data.query, texts, model=data.model, truncate=data.truncate, receive=request.receive
    )
    results = [
        RerankResult(
            index=i,
            relevance_score=float(result.scores[i]),
            document=RerankResultDocument(texts[i]) if data.return_documents else None,
        )
        for i in _best_first(result.scores, data.top_n)
    ]
    return RerankResponse(
        id=str(uuid.uuid4()),
        model=service.model_name,
        results=results,
        usage=RerankUsage(prompt_tokens=result.tokens, total_tokens=result.tokens),
        meta={"api_version": {"version": "2"}, "billed_units": {"search_units": 1}},
    )


def _raw(score: float, activation: str) -> float:
    """The logit behind a sigmoid score (TEI's raw_scores)."""
    if activation != "sigmoid":
        return score
    clipped = min(max(score, 1e-7), 1 - 1e-7)
    return math.log(clipped / (1 - clipped))


@post("/rerank", status_code=200, tags=["Rerank"], responses=_ERRORS)
async def tei_rerank(data: TeiRerankRequest, request: AnyRequest) -> list[TeiRerankResult]:
    """Score `texts` against `query`, best first, as text-embeddings-inference's /rerank."""
    service = _service(request)
    result = await service.rerank(
        data.query, data.texts, model=None, truncate=data.truncate, receive=request.receive
    )
    activation = service.reranker.descriptor.activation
    scores = [float(score) for score in result.scores]
    if data.raw_scores:
        scores = [_raw(score, activation) for score in scores]
    return [
        TeiRerankResult(index=i, score=scores[i], text=data.texts[i] if data.return_text else None)
        for i in _best_first(result.scores, None)
    ]


RERANK_ROUTES = [rerank, tei_rerank]
"""Routes behind the API key, when one is set."""
