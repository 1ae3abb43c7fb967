"""CorpusSearch and POST /v1/search: the passages of a corpus closest to a query, per model.

``serve --corpus`` loads a chunks.jsonl; each model the server searches with (the served one,
and the ``--compare`` export when given) embeds every passage once, in the background after
start (the route answers 503 until then), and keeps the unit vectors in memory. A search embeds
the query (the served model's through the server's batcher) and ranks the passages by cosine
similarity: one matrix-vector product. The served model's ranking then goes through the stages
the operator turned on (`stages`: hybrid BM25, a reranker), each timed in the answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from litestar import Request, post
from litestar.openapi import ResponseSpec
from numpy.typing import NDArray

from edgembed.errors import InputError, RequestError
from edgembed.server.openapi import error_responses
from edgembed.server.protocol import Embedder
from edgembed.server.querylog import QueryLog
from edgembed.server.schemas import (
    ErrorEnvelope,
    SearchHit,
    SearchRequest,
    SearchResponse,
    SearchResults,
)
from edgembed.server.stages import Ranking, SearchStages
from edgembed.workspace import chunks_file

if TYPE_CHECKING:
    from edgembed.corpus import Chunk

__all__ = [
    "CorpusSearch",
    "IndexCache",
    "SearchModel",
    "index_key",
    "load_passages",
    "search_corpus",
]

logger = logging.getLogger(__name__)

# Passages per embedding call while indexing: large enough to batch well, small enough that a
# request arriving meanwhile waits for one call at most.
_INDEX_BATCH = 32
_PROGRESS_EVERY_S = 60.0
# How many of each first-stage ranking a search keeps (and hybrid fuses): a passage below
# rank 1,000 in both adds under 1/1,060 to a fused score, next to 1/61 for a first place.
_FUSION_DEPTH = 1000

EmbedTexts = Callable[[list[str], str], Awaitable[NDArray[np.float32]]]
"""Embed texts as an input type (``query`` or ``document``): the model's prompt for it."""


def load_passages(corpus: Path) -> list[Chunk]:
    """The chunks of `corpus`: a chunks.jsonl file, or a workspace folder holding one.

    Raises:
        InputError: no chunks file there, or it is malformed or empty.
    """
    from edgembed.corpus import read_chunks  # the loaders' imports only when a corpus is served

    path = chunks_file(corpus)
    chunks = read_chunks(path)
    if not chunks:
        raise InputError(f"{path} holds no passages. Run `edgembed chunk DOCS` first.")
    return chunks


@dataclass
class SearchModel:
    """One model the corpus is searched with, and the passages' vectors under it."""

    name: str
    role: Literal["served", "compare"]
    embed: EmbedTexts
    vectors: NDArray[np.float32] | None = field(default=None, repr=False)
    key: str | None = None
    """What the passages' vectors depend on (`index_key`); None: never cached."""


def index_key(embedder: Embedder) -> str | None:
    """The model file's checksum, the variant and engine that run it and the document prompt:
    what a passage's vector depends on. None for an embedder without a manifest."""
    manifest = getattr(embedder, "manifest", None)
    variant = getattr(embedder, "variant", None)
    if manifest is None or variant is None:
        return None
    checksum = manifest.model_file(variant).sha256
    engine = getattr(embedder, "engine", "onnxruntime")
    return json.dumps([checksum, variant, engine, embedder.prompt("document")])


class IndexCache:
    """The passages' vectors under each model, kept on disk beside the chunks (``index/``) so
    a restart with the same export and corpus does not embed 100,000 passages again. A file is
    named by the hash of the model's `index_key` and the passages' texts; written atomically;
    a folder that cannot be written only costs the next start its re-embedding."""

    def __init__(self, folder: Path, texts: Sequence[str]) -> None:
        self.folder = folder
        digest = hashlib.sha256()
        for text in texts:
            digest.update(text.encode("utf-8", "surrogatepass") + b"\0")
        self._texts = digest.hexdigest()
        self._count = len(texts)

    def path(self, key: str) -> Path:
        """The file of the vectors under the model `key`."""
        name = hashlib.sha256(f"{key}\n{self._texts}".encode()).hexdigest()[:24]
        return self.folder / f"{name}.npy"

    def load(self, key: str) -> NDArray[np.float32] | None:
        """The cached vectors, or None when absent or not what they should be."""
        path = self.path(key)
        try:
            vectors: NDArray[np.float32] = np.load(path, allow_pickle=False)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            logger.warning("ignoring the unreadable index %s (%s); embedding again", path, error)
            return None
        if vectors.dtype != np.float32 or vectors.ndim != 2 or len(vectors) != self._count:
            logger.warning("ignoring the index %s: not one vector per passage", path)
            return None
        return vectors

    def save(self, key: str, vectors: NDArray[np.float32]) -> None:
        """Keep `vectors` for the next start (atomically; a failure is logged, not raised)."""
        path = self.path(key)
        temporary: Path | None = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.folder, suffix=".tmp", delete=False) as f:
                temporary = Path(f.name)
                np.save(f, vectors, allow_pickle=False)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temporary, path)
        except OSError as error:
            logger.warning("could not keep the index in %s (%s); a restart re-embeds", path, error)
            if temporary is not None:
                temporary.unlink(missing_ok=True)


def thread_embedder(embedder: Embedder) -> EmbedTexts:
    """Embed texts with `embedder` on a worker thread (for a model outside the batcher)."""

    def run(texts: list[str], input_type: str) -> NDArray[np.float32]:
        prompt = embedder.prompt(input_type)
        return embedder.embed_ids(embedder.tokenize(texts, truncate=True, prompt=prompt))

    async def embed(texts: list[str], input_type: str) -> NDArray[np.float32]:
        return await asyncio.to_thread(run, texts, input_type)

    return embed


@dataclass
class _Progress:
    """How far the embedding of a corpus's passages is, for the log and the 503's message."""

    done: int
    total: int
    started: float
    logged: float = 0.0

    def due_to_log(self) -> bool:
        """Whether a minute has passed since the last line (the first after a minute)."""
        now = time.perf_counter()
        if now - max(self.logged, self.started) < _PROGRESS_EVERY_S:
            return False
        self.logged = now
        return True

    def __str__(self) -> str:
        if not self.total:
            return "starting"
        elapsed = time.perf_counter() - self.started
        text = f"{self.done:,} of {self.total:,}"
        if self.done and elapsed > 1:
            rate = self.done / elapsed
            text += f", {rate:.0f} a second, about {(self.total - self.done) / rate:.0f} s left"
        return text


class CorpusSearch:
    """Ranks a fixed set of passages against a query with one or more models."""

    def __init__(
        self,
        passages: Sequence[Chunk],
        models: Sequence[SearchModel],
        stages: SearchStages | None = None,
        versions: Mapping[int, SearchModel] | None = None,
        index_dir: Path | None = None,
    ) -> None:
        """`versions`: the served model's versions by number, the default one being
        ``models[0]``; search ranks with the default and follows `use_version`. `index_dir`:
        where the passages' vectors are kept between starts (`IndexCache`); None: nowhere."""
        self.passages = list(passages)
        self._texts = [passage.text for passage in self.passages]
        self._cache = IndexCache(index_dir, self._texts) if index_dir is not None else None
        self.models = list(models)
        self.stages = stages or SearchStages(hybrid_weight=0)
        self.versions = dict(versions or {})
        self._prepared = False
        self._ids = frozenset(passage.id for passage in self.passages)
        self._embedding = _Progress(0, 0, time.perf_counter())  # passages embedded so far

    def has_passage(self, chunk_id: str) -> bool:
        """Whether `chunk_id` names one of the passages."""
        return chunk_id in self._ids

    @property
    def indexed(self) -> bool:
        """Whether every model has embedded every passage and the stages are ready."""
        return self._prepared and all(model.vectors is not None for model in self.models)

    async def index(self) -> None:
        """Embed every passage with every model (and every other version of the served one),
        a batch at a time; then prepare the stages (BM25's index)."""
        for model in [*self.models, *self.versions.values()]:
            if model.vectors is None:
                await self._embed_passages(model)
        await self.stages.prepare(self.passages)
        self._prepared = True

    async def add_version(self, number: int, model: SearchModel) -> None:
        """Embed the passages with a newly loaded version, so a switch to it is instant."""
        await self._embed_passages(model)
        self.versions[number] = model

    def use_version(self, number: int) -> None:
        """Rank with version `number` from the next search on (a switch of the default)."""
        self.models[0] = self.versions[number]

    def drop_version(self, number: int) -> None:
        """Forget an unloaded version's vectors."""
        self.versions.pop(number, None)

    async def _embed_passages(self, model: SearchModel) -> None:
        cache = self._cache if model.key is not None else None
        if cache is not None and model.key is not None:
            cached = await asyncio.to_thread(cache.load, model.key)
            if cached is not None:
                logger.info(
                    "read %d passages' vectors under %s from %s",
                    len(cached),
                    model.name,
                    cache.path(model.key),
                )
                model.vectors = cached
                return
        texts = self._texts
        started = time.perf_counter()
        self._embedding = progress = _Progress(0, len(texts), started)
        parts = []
        for start in range(0, len(texts), _INDEX_BATCH):
            parts.append(await model.embed(texts[start : start + _INDEX_BATCH], "document"))
            progress.done = start + len(parts[-1])
            if progress.due_to_log():
                logger.info("embedding the passages with %s: %s", model.name, progress)
        model.vectors = np.concatenate(parts).astype(np.float32, copy=False)
        logger.info(
            "embedded %d passages with %s in %.1f s",
            len(texts),
            model.name,
            time.perf_counter() - started,
        )
        if cache is not None and model.key is not None:
            await asyncio.to_thread(cache.save, model.key, model.vectors)

    async def search(self, query: str, top_k: int) -> list[SearchResults]:
        """Each model's `top_k` passages for `query`, best first.

        Raises:
            RequestError: 503 while the passages are still being embedded.
        """
        if not self.indexed:
            raise RequestError(
                f"The {len(self.passages):,} passages are still being embedded ("
                f"{self._embedding}); retry in a moment.",
                status=503,
                code="not_ready",
                retry_after=1,
            )
        # At once, not in turn: one engine's threads would spin-wait (onnxruntime's default)
        # through the other's turn; side by side the two answer in about the time of one.
        ranked = [self._rank(model, query, top_k) for model in self.models]
        return list(await asyncio.gather(*ranked))

    @asynccontextmanager
    async def lifespan(self, _app: object) -> AsyncIterator[None]:
        """Embed the passages in the background while the server starts answering."""
        task = asyncio.create_task(self._index_or_log())
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _index_or_log(self) -> None:
        try:
            await self.index()
        except Exception:  # search stays 503; the server keeps serving embeddings
            logger.exception("embedding the corpus failed; /v1/search stays unavailable")

    async def _rank(self, model: SearchModel, query: str, top_k: int) -> SearchResults:
        started = time.perf_counter()
        vectors = model.vectors
        assert vectors is not None  # checked by `search`
        query_vector = (await model.embed([query], "query"))[0]
        depth = max(top_k, self.stages.rerank_top, _FUSION_DEPTH)
        # The product and the ranking are tens of milliseconds at 100,000 passages: on a
        # worker thread (numpy lets go of the GIL), not on the event loop every request shares.
        ranking = await asyncio.to_thread(
            self._first_stages, model, vectors, query_vector, query, depth, started
        )
        if model.role == "served":
            ranking = await self.stages.reranked(ranking, query, self._texts)
        hits = [
            self._hit(rank, int(index), *ranking.score(int(index)))
            for rank, index in enumerate(ranking.order[:top_k], start=1)
        ]
        took_ms = (time.perf_counter() - started) * 1000
        return SearchResults(
            model=model.name, role=model.role, took_ms=took_ms, hits=hits, stages=ranking.timings
        )

    def _first_stages(
        self,
        model: SearchModel,
        vectors: NDArray[np.float32],
        query_vector: NDArray[np.float32],
        query: str,
        depth: int,
        started: float,
    ) -> Ranking:
        """Dense (and, for the served model, hybrid) ranking, on a worker thread."""
        scores = vectors @ query_vector
        ranking = self.stages.dense(scores, (time.perf_counter() - started) * 1000, depth)
        return self.stages.hybrid(ranking, query, depth) if model.role == "served" else ranking

    def _hit(self, rank: int, index: int, score: float, scored_by: str) -> SearchHit:
        passage = self.passages[index]
        return SearchHit(
            rank=rank,
            score=round(score, 4),
            scored_by=scored_by,  # type: ignore[arg-type]
            chunk_id=passage.id,
            doc=passage.doc,
            title=passage.title,
            section=passage.section,
            text=passage.text,
        )


_OFF = ResponseSpec(
    ErrorEnvelope,
    description="Search is off: the server was started without --corpus.",
    generate_examples=False,
)


@post(
    "/v1/search",
    status_code=200,
    tags=["Playground"],
    responses={**error_responses(400, 401, 413, 415, 503), 404: _OFF},
)
async def search_corpus(data: SearchRequest, request: Request[Any, Any, Any]) -> SearchResponse:
    """The served corpus's passages closest to `query`, ranked by each model (`serve --corpus`).

    With `serve --compare`, a second ranking by the compared model follows the served model's.
    """
    search: CorpusSearch | None = request.app.state.get("search")
    if search is None:
        raise RequestError(
            "Search is off on this server. Start it with --corpus WORKSPACE (or a chunks.jsonl).",
            status=404,
            code="search_disabled",
        )
    query = data.query.strip()  # never blank (SearchRequest's pattern)
    results = await search.search(query, data.top_k)
    query_log: QueryLog | None = request.app.state.get("query_log")
    if query_log is not None:
        await query_log.record([query], results[0].model)
    return SearchResponse(query=query, results=results)
