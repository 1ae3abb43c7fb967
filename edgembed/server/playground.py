"""The playground page at / and what it asks the server: try the models on the corpus, mark
which passages answer.

The page is plain HTML, CSS and JavaScript shipped in ``edgembed/server/static`` (nothing from
a CDN: the appliance is offline). It calls GET /v1/playground, POST /v1/search and POST
/v1/feedback with the API key the user types in, when the server has one.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get
from litestar.enums import MediaType
from litestar.response import Response
from litestar.static_files import create_static_files_router

from edgembed.server.feedback import FeedbackStore
from edgembed.server.openapi import error_responses
from edgembed.server.pages import PAGE_HEADERS, STATIC, with_page_headers
from edgembed.server.schemas import PlaygroundInfo
from edgembed.server.search import CorpusSearch

__all__ = ["playground_info", "playground_page", "static_files"]


@get("/", include_in_schema=False)
async def playground_page() -> Response[bytes]:
    """The playground: type a question, see the closest passages, mark the ones that answer."""
    return Response(
        (STATIC / "index.html").read_bytes(), media_type=MediaType.HTML, headers=PAGE_HEADERS
    )


@get("/v1/playground", tags=["Playground"], responses=error_responses(401))
async def playground_info(request: Request[Any, Any, Any]) -> PlaygroundInfo:
    """The models the playground compares, the passages it searches and whether feedback is on."""
    state = request.app.state
    search: CorpusSearch | None = state.get("search")
    feedback: FeedbackStore | None = state.get("feedback")
    served = [state.versions.name] if state.versions is not None else []
    served += [state.rerank.model_name] if state.rerank is not None else []
    models = [model.name for model in search.models] if search else served
    return PlaygroundInfo(
        models=models,
        passages=len(search.passages) if search else 0,
        indexed=bool(search and search.indexed),
        feedback=feedback is not None,
        stages=search.stages.names if search else [],
        marks=bool(search and feedback and state.get("query_log")),
    )


def static_files() -> Router:
    """The pages' scripts and style sheets under /static, with the pages' headers."""
    return create_static_files_router(
        path="/static",
        directories=[STATIC],
        include_in_schema=False,
        name="static",
        after_request=with_page_headers,
    )
