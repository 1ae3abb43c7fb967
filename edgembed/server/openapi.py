"""What the OpenAPI schema at /docs/openapi.json says beyond the types of the bodies.

Every status a route can answer, each in OpenAI's error envelope (the framework would document
its own shape), and the Bearer scheme when the server requires a key: generated clients and
schema fuzzers then expect what the server does.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Router
from litestar.enums import MediaType
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.openapi.spec import Components, Reference, SecurityRequirement, SecurityScheme

from edgembed import __version__
from edgembed.server.pages import STATIC, with_page_headers
from edgembed.server.schemas import ErrorEnvelope

__all__ = ["API_KEY_SECURITY", "EMBED_ERRORS", "error_responses", "openapi_config"]

_BEARER = "apiKey"
_ERRORS = {
    400: "Invalid request: the body is not JSON or not the documented shape, or an input is "
    "one the model cannot take (`error.param` names the field, `error.code` says why).",
    401: "Missing or wrong API key (only when the server was started with one).",
    404: "No such model: `model` must be the served model's id (see GET /v1/models).",
    413: "The request body is over the server's size limit (serve --max-body-bytes).",
    415: "The body was not sent as JSON: send 'Content-Type: application/json'.",
    500: "The model failed on this request; the details are in the server's log.",
    503: "Overloaded (too many requests waiting), shutting down, or still warming up: retry "
    "after the seconds in Retry-After. Without Retry-After (code model_failed): the model "
    "failed its warm-up and the server must be restarted.",
}

API_KEY_SECURITY: list[SecurityRequirement] = [{_BEARER: []}]
"""The security requirement of the routes behind the API key."""


def error_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """The OpenAPI responses of `statuses`, each in OpenAI's error envelope."""
    return {
        status: ResponseSpec(ErrorEnvelope, description=_ERRORS[status], generate_examples=False)
        for status in statuses
    }


EMBED_ERRORS = error_responses(400, 401, 404, 413, 415, 500, 503)
"""What POST /v1/embeddings and POST /api/embed can answer besides 200."""


class _DocsPage(OpenAPIRenderPlugin):
    """/docs: the package's own page that reads /docs/openapi.json (Litestar's renderers load
    their scripts from a CDN, which an offline appliance cannot reach)."""

    def __init__(self) -> None:
        super().__init__(path="/", media_type=MediaType.HTML)

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return (STATIC / "docs.html").read_bytes()


def openapi_config(api_key_required: bool) -> OpenAPIConfig:
    """The OpenAPI document's config; it declares the Bearer scheme when a key is required."""
    schemes: dict[str, SecurityScheme | Reference] = {
        _BEARER: SecurityScheme(
            type="http",
            scheme="bearer",
            description="The server's API key, as 'Authorization: Bearer <key>'.",
        )
    }
    return OpenAPIConfig(
        title="edgembed",
        version=__version__,
        description="OpenAI-compatible embeddings of one exported model, on CPU.",
        path="/docs",
        render_plugins=[_DocsPage()],
        use_handler_docstrings=True,
        openapi_router=Router(
            "/docs", route_handlers=[], include_in_schema=False, after_request=with_page_headers
        ),
        components=Components(security_schemes=schemes if api_key_required else None),
    )
