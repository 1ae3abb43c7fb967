"""GET /v1/marks/next: the logged queries a person's mark would help most, least sure first.

From the query log (``serve --log-queries``), the newest distinct queries nobody has marked yet
are ranked over the served corpus (``--corpus``) by the default version: those on whose best
passage the ``--compare`` model disagrees come first, then those whose best passage scores
barely above the second (`edgembed.evaluation.uncertainty`). On editorfaq, 100 marks taken
this way taught no more than 100 taken at random (docs/findings.md, "Least sure first"); the
order still puts first the queries the model cannot tell between.
The playground lists them; a click searches the query, ready to mark.

Each query is embedded once per version and kept (up to `_CACHE` of them), so asking again
costs the newly logged queries only.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import msgspec
import numpy as np
from litestar import Request, get
from litestar.params import Parameter
from numpy.typing import NDArray

from edgembed.errors import RequestError
from edgembed.evaluation.uncertainty import least_sure_first, margins
from edgembed.formats.querylog import read_query_log
from edgembed.server.feedback import FeedbackStore
from edgembed.server.openapi import error_responses
from edgembed.server.querylog import QueryLog
from edgembed.server.search import CorpusSearch, SearchModel

__all__ = ["MarkSuggestion", "MarkSuggestions", "QueryRanker", "next_marks"]

# The newest distinct unmarked queries considered, and the query vectors kept per model.
_CANDIDATES = 2000
_CACHE = 20_000
_BATCH = 32
_SNIPPET = 300


class SuggestedPassage(msgspec.Struct, kw_only=True):
    """One of the passages the model ranks first for a suggested query."""

    chunk_id: str
    title: str
    score: float
    text: str


class MarkSuggestion(msgspec.Struct, kw_only=True):
    """A logged query worth a mark: how unsure the model is, and its best passages."""

    query: str
    asked: int
    margin: float
    disagree: bool
    top: list[SuggestedPassage]


class MarkSuggestions(msgspec.Struct, kw_only=True):
    """The queries to mark next, the most useful first."""

    object: str = "list"
    model: str
    candidates: int
    marked: int
    data: list[MarkSuggestion]


class QueryRanker:
    """Keeps the logged queries' vectors per model, so each is embedded once."""

    def __init__(self) -> None:
        self._vectors: dict[str, dict[str, NDArray[np.float32]]] = {}

    async def vectors(self, model: SearchModel, texts: list[str]) -> NDArray[np.float32]:
        cache = self._vectors.setdefault(model.name, {})
        missing = [text for text in texts if text not in cache]
        for start in range(0, len(missing), _BATCH):
            batch = missing[start : start + _BATCH]
            for text, vector in zip(batch, await model.embed(batch, "query"), strict=True):
                cache[text] = vector
        if len(cache) > _CACHE:  # drop the oldest entries
            for text in list(cache)[: len(cache) - _CACHE]:
                del cache[text]
        return np.stack([cache[text] for text in texts])

    def forget_other_models(self, names: set[str]) -> None:
        for name in set(self._vectors) - names:
            del self._vectors[name]


def _recent(path: Path, marked: set[str]) -> tuple[list[str], dict[str, int]]:
    """The newest distinct unmarked queries of the log (and its rotated part), newest first,
    with how often each was asked."""
    rotated = path.with_name(path.name + ".1")
    rows = [*(read_query_log(rotated) if rotated.exists() else []), *read_query_log(path)]
    asked: dict[str, int] = {}
    for row in rows:
        asked[row.text] = asked.get(row.text, 0) + 1
    recent: list[str] = []
    seen: set[str] = set()
    for row in reversed(rows):
        if row.text in marked or row.text in seen:
            continue
        seen.add(row.text)
        recent.append(row.text)
        if len(recent) == _CANDIDATES:
            break
    return recent, asked


def _parts(request: Request[Any, Any, Any]) -> tuple[CorpusSearch, QueryLog, FeedbackStore]:
    state = request.app.state
    search: CorpusSearch | None = state.get("search")
    log: QueryLog | None = state.get("query_log")
    feedback: FeedbackStore | None = state.get("feedback")
    missing = [
        flag
        for flag, part in (
            ("--corpus", search),
            ("--log-queries", log),
            ("--feedback-db", feedback),
        )
        if part is None
    ]
    if search is None or log is None or feedback is None:
        raise RequestError(
            f"Suggesting queries to mark needs the query log, a corpus and the feedback "
            f"database: restart the server with {', '.join(missing)}.",
            status=404,
            code="marks_disabled",
        )
    if not search.indexed:
        raise RequestError(
            "The corpus is still being embedded; retry in a moment.",
            status=503,
            code="not_ready",
            retry_after=1,
        )
    return search, log, feedback


@get("/v1/marks/next", tags=["Feedback"], responses=error_responses(400, 401, 404, 503))
async def next_marks(
    request: Request[Any, Any, Any],
    limit: Annotated[int, Parameter(ge=1, le=100, description="How many queries.")] = 10,
) -> MarkSuggestions:
    """The logged queries nobody marked yet that a mark would help most: those the served
    model is least sure how to answer (and, with --compare, those the two models answer
    differently) first, each with the passages it ranks first."""
    search, log, feedback = _parts(request)
    marked = await feedback.marked_queries()
    texts, asked = await asyncio.to_thread(_recent, log.path, marked)
    ranker: QueryRanker = request.app.state.query_ranker
    served = search.models[0]
    ranker.forget_other_models({model.name for model in search.models})
    if not texts:
        return MarkSuggestions(model=served.name, candidates=0, marked=len(marked), data=[])
    scores = await _scores(ranker, served, texts)
    other = None
    if len(search.models) > 1:
        other = await _scores(ranker, search.models[1], texts)
    order = least_sure_first(scores, other)[:limit]
    margin = margins(scores)
    disagree = scores.argmax(axis=1) != (other if other is not None else scores).argmax(axis=1)
    data = [
        MarkSuggestion(
            query=texts[i],
            asked=asked.get(texts[i], 1),
            margin=round(float(margin[i]), 4),
            disagree=bool(disagree[i]),
            top=[_passage(search, int(j), float(scores[i, j])) for j in _best(scores[i], 3)],
        )
        for i in order
    ]
    return MarkSuggestions(model=served.name, candidates=len(texts), marked=len(marked), data=data)


async def _scores(ranker: QueryRanker, model: SearchModel, texts: list[str]) -> Any:
    assert model.vectors is not None  # the search is indexed
    return (await ranker.vectors(model, texts)) @ model.vectors.T


def _best(row: NDArray[np.floating], count: int) -> list[int]:
    count = min(count, len(row))
    top = np.argpartition(-row, count - 1)[:count]
    return [int(i) for i in top[np.argsort(-row[top])]]


def _passage(search: CorpusSearch, index: int, score: float) -> SuggestedPassage:
    passage = search.passages[index]
    return SuggestedPassage(
        chunk_id=passage.id,
        title=passage.title,
        score=round(score, 4),
        text=passage.text[:_SNIPPET],
    )
