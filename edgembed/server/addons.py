"""The opt-in parts of the server, built from its settings: the query log, the feedback store,
corpus search and the playground page.

Each is off unless its setting is given (``log_queries``, ``feedback_db``, ``corpus``); the
routes are always registered and say how to turn their part on when it is off.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from litestar.types import ControllerRouterHandler

from edgembed.config import ServeSettings
from edgembed.errors import ConfigError
from edgembed.server.feedback import FeedbackStore, record_feedback
from edgembed.server.marks import QueryRanker, next_marks
from edgembed.server.playground import playground_info, playground_page, static_files
from edgembed.server.protocol import Embedder
from edgembed.server.querylog import QueryLog
from edgembed.server.rerank import RerankService
from edgembed.server.search import (
    CorpusSearch,
    SearchModel,
    index_key,
    load_passages,
    search_corpus,
    thread_embedder,
)
from edgembed.server.service import EmbeddingService
from edgembed.server.stages import SearchStages
from edgembed.server.versions import ModelVersions, Version
from edgembed.workspace import chunks_file

__all__ = ["Addons", "build_addons"]

Lifespan = Callable[[Any], AbstractAsyncContextManager[None]]

_MB = 1024 * 1024


@dataclass(frozen=True)
class Addons:
    """What `create_app` adds: app state, lifespans, key-guarded routes and open routes."""

    state: dict[str, Any]
    lifespans: Sequence[Lifespan]
    api_routes: Sequence[ControllerRouterHandler]
    open_routes: Sequence[ControllerRouterHandler]


def build_addons(
    settings: ServeSettings,
    served: ModelVersions | None,
    compare: Embedder | None,
    rerank: RerankService | None = None,
) -> Addons:
    """The query log, feedback store and search that `settings` ask for.

    Raises:
        ConfigError: the query log or the feedback database cannot be written, or search is
            asked of a server without an embedding model.
        InputError: the corpus cannot be read.
    """
    query_log = (
        QueryLog(settings.log_queries, int(settings.log_queries_max_mb * _MB))
        if settings.log_queries
        else None
    )
    feedback = (
        FeedbackStore(settings.feedback_db, int(settings.feedback_max_mb * _MB))
        if settings.feedback_db
        else None
    )
    search = _corpus_search(settings, served, compare, rerank)
    lifespans = [part.lifespan for part in (feedback, search) if part is not None]
    return Addons(
        state={
            "query_log": query_log,
            "feedback": feedback,
            "search": search,
            "query_ranker": QueryRanker(),
        },
        lifespans=lifespans,
        api_routes=[record_feedback, search_corpus, playground_info, next_marks],
        open_routes=[playground_page, static_files()],
    )


def _corpus_search(
    settings: ServeSettings,
    served: ModelVersions | None,
    compare: Embedder | None,
    rerank: RerankService | None,
) -> CorpusSearch | None:
    if settings.corpus is None:
        return None
    if served is None:
        raise ConfigError(
            "--corpus searches with an embedding model: serve an embedding export (with "
            "--reranker RERANKER_EXPORT for the rerank stage)."
        )
    versions = {version.number: served_model(version.service) for version in served.loaded}
    models = [versions[served.default]]
    if compare is not None:
        name = compare.model_name
        if name == served.name:  # two exports of one name: keep the columns apart
            name = f"{name} (compare)"
        models.append(
            SearchModel(name, "compare", thread_embedder(compare), key=index_key(compare))
        )
    stages = SearchStages(settings.hybrid_weight, rerank, settings.rerank_top)
    index_dir = chunks_file(settings.corpus).parent / "index"
    search = CorpusSearch(load_passages(settings.corpus), models, stages, versions, index_dir)

    async def index_version(version: Version) -> None:
        await search.add_version(version.number, served_model(version.service))

    served.on_load.append(index_version)
    served.on_switch.append(lambda version: search.use_version(version.number))
    served.on_unload.append(search.drop_version)
    return search


def served_model(service: EmbeddingService) -> SearchModel:
    """Search's view of one version of the served model: it embeds through its batcher."""

    async def embed(texts: list[str], input_type: str) -> Any:
        embedded = await service.embed(
            texts, model=service.model_name, dimensions=None, truncate=True, input_type=input_type
        )
        return embedded.vectors

    return SearchModel(service.model_id, "served", embed, key=index_key(service.embedder))
