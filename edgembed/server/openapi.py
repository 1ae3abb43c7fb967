"""What the OpenAPI schema at /docs/openapi.json says beyond the types of the bodies.

Every status a route can answer, each in OpenAI's error envelope (the framework would document
its own shape), the Bearer scheme when the server requires a key, and what only this server
knows (`refine_schema`): generated clients and schema fuzzers then expect what the server does.
"""

from __future__ import annotations

import copy
from typing import Any

import msgspec
from litestar import Request, Router
from litestar.enums import MediaType
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.plugins import JsonRenderPlugin, OpenAPIRenderPlugin
from litestar.openapi.spec import Components, Reference, SecurityRequirement, SecurityScheme

from edgembed import __version__
from edgembed.server import schemas
from edgembed.server.pages import STATIC, with_page_headers
from edgembed.server.schemas import ErrorEnvelope

__all__ = [
    "API_KEY_SECURITY",
    "EMBED_ERRORS",
    "error_responses",
    "openapi_config",
    "refine_schema",
]

_BEARER = "apiKey"
_ERRORS = {
    400: "Invalid request: the body is not JSON or not the documented shape, or an input is "
    "one the model cannot take (`error.param` names the field, `error.code` says why).",
    401: "Missing or wrong API key (only when the server was started with one).",
    403: "Versions can be changed on a server without an API key from its own machine only.",
    404: "No such model: `model` must be the served model's id (see GET /v1/models).",
    409: "The versions are not in a state that allows this (`error.code` says which).",
    422: "The export folder cannot be loaded as a version of the served model.",
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


# The bodies that refuse fields they do not know.
_CLOSED_BODIES = [
    name
    for name, body in vars(schemas).items()
    if isinstance(body, type)
    and issubclass(body, msgspec.Struct)
    and body.__struct_config__.forbid_unknown_fields
]
_ENVELOPE = {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}
_HOST_REFUSED = {
    "description": "Without an API key, a request for another host name than the server's own "
    "(or --allowed-host) is refused (see GET /docs: host names).",
    "content": {"application/json": _ENVELOPE},
}


def _naming(field: str) -> dict[str, Any]:
    return {"required": [field], "properties": {field: {"type": "string"}}}


def refine_schema(
    schema: dict[str, Any], *, dimension: int | None, keyless: bool
) -> dict[str, Any]:
    """Add to the generated `schema` (in place; returned) what the bodies' types cannot say:
    `dimensions` goes up to the model's size, the bodies that refuse unknown fields say so, a
    feedback row names its passage (by `chunk_id` or `passage`), and without an API key every
    route may answer 421 (`hosts.HostNames`)."""
    bodies = schema["components"]["schemas"]
    for name in ("EmbeddingRequest", "OllamaEmbedRequest"):
        if dimension is not None:  # None: a reranker alone, whose embedding routes say 404
            bodies[name]["properties"]["dimensions"]["oneOf"][0]["maximum"] = dimension
    for name in _CLOSED_BODIES:
        if name in bodies:
            bodies[name]["additionalProperties"] = False
    if "FeedbackRequest" in bodies:
        bodies["FeedbackRequest"]["anyOf"] = [_naming("chunk_id"), _naming("passage")]
    if keyless:
        for route in schema["paths"].values():
            for operation in route.values():
                operation["responses"]["421"] = _HOST_REFUSED
    return schema


class _RefinedJson(JsonRenderPlugin):
    """/docs/openapi.json: the generated schema after `refine_schema`."""

    def __init__(self, dimension: int | None, keyless: bool) -> None:
        super().__init__(path="/openapi.json")
        self._dimension, self._keyless = dimension, keyless
        self._rendered: bytes | None = None

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        if self._rendered is None:
            refined = refine_schema(
                copy.deepcopy(openapi_schema), dimension=self._dimension, keyless=self._keyless
            )
            self._rendered = self.render_json(request, refined)
        return self._rendered


def openapi_config(api_key_required: bool, dimension: int | None) -> OpenAPIConfig:
    """The OpenAPI document's config; it declares the Bearer scheme when a key is required, and
    refines the schema for a model of `dimension` values (`refine_schema`)."""
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
        render_plugins=[_DocsPage(), _RefinedJson(dimension, keyless=not api_key_required)],
        use_handler_docstrings=True,
        openapi_router=Router(
            "/docs", route_handlers=[], include_in_schema=False, after_request=with_page_headers
        ),
        components=Components(security_schemes=schemes if api_key_required else None),
    )
