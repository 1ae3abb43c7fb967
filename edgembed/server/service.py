"""EmbeddingService: what the routes call; ties the input policy, the batcher and the metrics."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial

import numpy as np
from numpy.typing import NDArray

from edgembed.config import ServeSettings
from edgembed.errors import RequestError
from edgembed.server.batcher import EmbeddingBatcher
from edgembed.server.disconnect import Receive, unless_disconnected
from edgembed.server.envelope import shown
from edgembed.server.inputs import EncodedInputs, InputEncoder, ParsedInput, RawInput
from edgembed.server.model_ids import parse_model_id, versioned_id
from edgembed.server.prometheus import ServerMetrics
from edgembed.server.protocol import Embedder
from edgembed.server.responses import check_dimensions, select_dimensions

__all__ = ["Embedded", "EmbeddingService"]

logger = logging.getLogger(__name__)

# Inputs heavier than this (characters + token ids) are tokenized on the worker thread; lighter
# ones inline, where a thread hop would cost more than the tokenizing.
_INLINE_WEIGHT = 2000
# ... and in pieces of at most this weight, that take turns with other requests on that thread
# as embedding pieces do (batcher.PIECE_TOKENS): MiniLM's tokenizer, with the check for cut
# inputs, takes about 0.1 s for 64 K characters of 4 KB texts on 2 cores.
_PIECE_WEIGHT = 65536
# Values in an answer past which it is big (about 5 MB as JSON): see `_is_big`.
_BIG_ANSWER = 1 << 18


@dataclass(frozen=True)
class Embedded:
    """Vectors for one request, with the tokens they took, how many inputs were cut, the
    input type they were embedded as and the prompt they got (None: none)."""

    vectors: NDArray[np.float32]
    tokens: int
    truncated: int
    input_type: str | None = None
    prompt_name: str | None = None


class EmbeddingService:
    """Checks a request against the served model, encodes its inputs and embeds them."""

    def __init__(
        self,
        embedder: Embedder,
        settings: ServeSettings,
        metrics: ServerMetrics,
        *,
        model_name: str | None = None,
    ):
        self.embedder = embedder
        self.settings = settings
        self.metrics = metrics
        self.model_name = model_name or settings.model_name or embedder.model_name
        self.version = embedder.version
        self.model_id = versioned_id(self.model_name, self.version)
        self.created = int(time.time())
        self.ready = False
        self._warm_up_task: asyncio.Task[None] | None = None
        self.failure: str | None = None  # why the model cannot serve (its warm-up failed)
        self._encoder = InputEncoder(embedder, settings.max_inputs)
        self._batcher = EmbeddingBatcher(
            embedder,
            max_batch_tokens=settings.max_batch_tokens,
            max_wait_ms=settings.max_wait_ms,
            max_queue=settings.max_queue,
            on_batch=metrics.observe_batch,
        )
        self._untrack = metrics.track_queue(lambda: self._batcher.depth)

    @property
    def truncation_policy(self) -> str:
        """The truncation policy in words, as /v1/models states it."""
        limit = self.embedder.max_seq_length
        if self.settings.truncate:
            return (
                f"inputs over {limit} tokens are truncated (X-Edgembed-Truncated says how many); "
                "send truncate: false to get a 400 instead"
            )
        return f"inputs over {limit} tokens are refused with 400; send truncate: true to cut them"

    def check_model(self, requested: str) -> str | None:
        """Accept the served model's ids (`model_ids`); return the input type the id names.

        Raises:
            RequestError: 404 for any other model.
        """
        ref = parse_model_id(requested)
        if ref.name != self.model_name:
            raise RequestError(
                f"The model '{shown(requested)}' does not exist here. This server serves "
                f"'{self.model_name}' (also as '{self.model_name}:query' and "
                f"'{self.model_name}:document'; see GET /v1/models).",
                status=404,
                param="model",
                code="model_not_found",
            )
        return ref.input_type

    def resolve_prompt(
        self, model: str, input_type: str | None, prompt_name: str | None
    ) -> tuple[str | None, str | None, str]:
        """The input type, prompt name and prompt text a request gets.

        Raises:
            RequestError: 404 for an unknown model; 400 when the model id and `input_type`
                disagree, for an unknown prompt name, or an input type the model has no
                prompt for.
        """
        implied = self.check_model(model)
        if input_type is not None and implied is not None and input_type != implied:
            raise RequestError(
                f"The model id '{model}' embeds {implied} texts but input_type is "
                f"'{input_type}'. "
                "Send one of them.",
                param="input_type",
                code="input_type_conflict",
            )
        input_type = input_type or implied
        try:
            name = self.embedder.descriptor.resolve_prompt(input_type, prompt_name)
        except ValueError as exc:
            param = "prompt_name" if prompt_name is not None else "input_type"
            raise RequestError(f"{exc}.", param=param, code="invalid_prompt") from exc
        text = self.embedder.descriptor.prompts[name] if name is not None else ""
        return input_type, name, text

    async def embed(
        self,
        raw: RawInput,
        *,
        model: str,
        dimensions: int | None,
        truncate: bool | None,
        input_type: str | None = None,
        prompt_name: str | None = None,
        receive: Receive | None = None,
    ) -> Embedded:
        """Embed one request's inputs, with the prompt its model id, `input_type` or
        `prompt_name` picks (the model's default without any).

        Args:
            receive: the request's ASGI receive, once its body is read: a request cut into
                several model calls then stops when its client disconnects.

        Raises:
            RequestError: unknown model, bad `dimensions`, prompt or inputs (see `inputs`),
                400 over the per-request token budget, 499 when the client went away, or 503
                when the server is overloaded.
        """
        input_type, prompt_name, prompt = self.resolve_prompt(model, input_type, prompt_name)
        check_dimensions(dimensions, self.embedder.dimension)
        parsed = self._encoder.parse(raw)
        truncate = self.settings.truncate if truncate is None else truncate
        work = self._encode_and_embed(parsed, truncate, prompt)
        try:
            if receive is not None and parsed.weight > _INLINE_WEIGHT:
                encoded, vectors = await unless_disconnected(work, receive)
            else:
                encoded, vectors = await work
        finally:
            if self._is_big(parsed):
                self._batcher.release_soon()
        tokens = encoded.tokens
        self.metrics.tokens.inc(tokens)
        if encoded.truncated:
            self.metrics.truncated.inc(encoded.truncated)
        return Embedded(
            select_dimensions(vectors, dimensions),
            tokens,
            encoded.truncated,
            input_type,
            prompt_name,
        )

    def _is_big(self, parsed: ParsedInput) -> bool:
        """Whether a request's body or answer is big enough to leave the heap fragmented."""
        answer = len(parsed.texts or parsed.sequences) * self.embedder.dimension
        return parsed.weight > _PIECE_WEIGHT or bool(parsed.clipped) or answer > _BIG_ANSWER

    async def _encode_and_embed(
        self, parsed: ParsedInput, truncate: bool, prompt: str
    ) -> tuple[EncodedInputs, NDArray[np.float32]]:
        if parsed.weight <= _INLINE_WEIGHT:
            encoded = self._encoder.encode(parsed, truncate=truncate, prompt=prompt)
            self._check_token_budget(encoded.tokens)
        else:
            encoded = await self._encode_in_pieces(parsed, truncate, prompt)
        return encoded, await self._batcher.embed(encoded.ids)

    async def _encode_in_pieces(
        self, parsed: ParsedInput, truncate: bool, prompt: str
    ) -> EncodedInputs:
        """Encode on the model thread a piece at a time (see `_PIECE_WEIGHT`), stopping at
        the first piece that takes the request over its token budget."""
        parts: list[EncodedInputs] = []
        pieces = parsed.pieces(_PIECE_WEIGHT)
        tokens = 0
        for number, piece in enumerate(pieces, start=1):
            encode = partial(self._encoder.encode, piece, truncate=truncate, prompt=prompt)
            parts.append(await self._batcher.run(encode))
            tokens += parts[-1].tokens
            self._check_token_budget(tokens, counted_all=number == len(pieces))
        return EncodedInputs.join(parts)

    def _check_token_budget(self, tokens: int, *, counted_all: bool = True) -> None:
        budget = self.settings.max_request_tokens
        if tokens > budget:
            holds = f"{tokens}" if counted_all else f"at least {tokens}"
            raise RequestError(
                f"This request holds {holds} tokens; this server takes at most {budget} per "
                "request (serve --max-request-tokens). Send its inputs over several requests.",
                param="input",
                code="max_tokens_per_request",
            )

    @asynccontextmanager
    async def lifespan(self, _app: object) -> AsyncIterator[None]:
        """Run the batcher while the app runs; warm the model up in the background."""
        self.start()
        try:
            yield
        finally:
            await self.stop()

    def start(self) -> None:
        """Start the batcher and warm the model up in the background."""
        self._batcher.start()
        self._warm_up_task = asyncio.create_task(self._warm_up())

    async def warmed_up(self) -> bool:
        """Wait for the warm-up; whether the model answered it."""
        if self._warm_up_task is not None:
            await self._warm_up_task
        return self.ready

    async def stop(self) -> None:
        """Finish the requests queued and in flight, then stop the batcher."""
        await self.warmed_up()
        await self._batcher.close()
        self._untrack()

    def require_alive(self) -> None:
        """Raises RequestError (503) once the model has shown it cannot serve."""
        if self.failure is not None:
            raise RequestError(
                f"The model cannot serve: {self.failure}. The details are in the server's "
                "log; fix the export (or the server's options) and restart it.",
                status=503,
                code="model_failed",
            )

    def require_ready(self) -> None:
        """Raises RequestError (503) until the model has answered its first batch."""
        self.require_alive()
        if not self.ready:
            raise RequestError(
                "The model is still warming up; retry in a moment.",
                status=503,
                code="not_ready",
                retry_after=1,
            )

    async def _warm_up(self) -> None:
        started = time.perf_counter()
        try:
            # Two texts, so the lanes' session (runtime/lanes.py) is made and run now: the
            # memory at idle is then the memory in use, and no document batch pays for it.
            await self.embed(
                ["warm up", "warm up"], model=self.model_name, dimensions=None, truncate=True
            )
        except Exception as exc:  # never ready; /health fails so the orchestrator restarts it
            logger.exception("warming up the model failed")
            self.failure = f"warming it up failed ({type(exc).__name__}: {exc})"
            return
        self.ready = True
        logger.info("model warmed up in %.0f ms", (time.perf_counter() - started) * 1000)
