"""The versions API: list, load, switch, roll back and unload the served model's versions.

Behind the API key like every /v1 route; on a server without one, only a client on this
machine (loopback) may change versions, so a keyless server on a network cannot be re-pointed
by whoever reaches it. Loading takes an export folder on the server's disk, inside its versions
folder (``serve --versions-dir``, by default the folder holding the served export), named
relative to it: ``{"export": "edgembed-model-v2"}``.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

from litestar import Request, delete, get, post

from edgembed.errors import RequestError
from edgembed.server.model_ids import versioned_id
from edgembed.server.openapi import error_responses
from edgembed.server.schemas import LoadVersionRequest, SwitchRequest, VersionCard, VersionList
from edgembed.server.versions import ModelVersions, Version

__all__ = ["VERSION_ROUTES"]

AnyRequest = Request[Any, Any, Any]


def _versions(request: AnyRequest) -> ModelVersions:
    versions: ModelVersions | None = request.app.state.get("versions")
    if versions is None:
        raise RequestError(
            "This server serves a reranker only: it has no embedding model versions.",
            status=404,
            code="embeddings_disabled",
        )
    if request.app.state.settings.api_key is None and not _local(request):
        raise RequestError(
            "Changing versions on a server without an API key is allowed from this machine "
            "only. Restart it with --api-key (or EDGEMBED_API_KEY), or call from the server.",
            status=403,
            code="admin_forbidden",
        )
    return versions


def _local(request: AnyRequest) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "testclient"  # Litestar's in-process test client


def _card(versions: ModelVersions, version: Version) -> VersionCard:
    return VersionCard(
        id=versioned_id(versions.name, version.number),
        version=version.number,
        default=version.number == versions.default,
        ready=version.service.ready,
        export=version.export,
        loaded=version.loaded,
        improved_from=version.lineage.get("improved_from"),
        lineage=dict(version.lineage),
    )


def _listing(versions: ModelVersions) -> VersionList:
    return VersionList(
        model=versions.name,
        default=versions.default,
        previous=versions.previous,
        can_load=versions.can_load,
        data=[_card(versions, version) for version in versions.loaded],
    )


@get("/v1/versions", tags=["Versions"], responses=error_responses(401, 403, 404))
async def list_versions(request: AnyRequest) -> VersionList:
    """The loaded versions of the served model; `default` is the one its plain name serves."""
    return _listing(_versions(request))


@post(
    "/v1/versions",
    status_code=201,
    tags=["Versions"],
    responses=error_responses(400, 401, 403, 404, 409, 413, 415, 422),
)
async def load_version(data: LoadVersionRequest, request: AnyRequest) -> VersionCard:
    """Load an export folder as a version beside the others (served as NAME@vN once warm and,
    with --corpus, once it has embedded the corpus); the default does not change."""
    versions = _versions(request)
    folder = _inside(request.app.state.settings.versions_dir, data.export)
    return _card(versions, await versions.load(folder))


@post(
    "/v1/versions/default",
    status_code=200,
    tags=["Versions"],
    responses=error_responses(400, 401, 403, 404, 409, 413, 415),
)
async def switch_version(data: SwitchRequest, request: AnyRequest) -> VersionList:
    """Make a loaded version the default: requests for the plain model name get it from now
    on (those in flight finish on the version they started on)."""
    versions = _versions(request)
    versions.switch(data.version)
    return _listing(versions)


@post(
    "/v1/versions/rollback",
    status_code=200,
    tags=["Versions"],
    responses=error_responses(400, 401, 403, 409, 413, 415),
)
async def rollback_version(request: AnyRequest) -> VersionList:
    """Make the version before the last switch the default again."""
    versions = _versions(request)
    versions.rollback()
    return _listing(versions)


@delete(
    "/v1/versions/{version:int}",
    status_code=200,
    tags=["Versions"],
    responses=error_responses(401, 403, 404, 409),
)
async def unload_version(version: int, request: AnyRequest) -> VersionList:
    """Stop serving a version that is not the default, once its queued requests are answered."""
    versions = _versions(request)
    await versions.unload(version)
    return _listing(versions)


def _inside(root: Path | None, export: str) -> Path:
    """The folder `export` names inside `root`; nothing outside it."""
    if root is None:
        raise RequestError(
            "This server has no versions folder: start it with --versions-dir.",
            status=404,
            code="versions_disabled",
        )
    folder = (root / export).resolve()
    if not folder.is_relative_to(root.resolve()) or folder == root.resolve():
        raise RequestError(
            f"'{export}' is not a folder inside the server's versions folder; name an export "
            f"there, e.g. 'edgembed-model-v2'.",
            param="export",
            code="invalid_export",
        )
    if not folder.is_dir():
        raise RequestError(
            f"There is no export '{export}' in the server's versions folder.",
            status=404,
            param="export",
            code="export_not_found",
        )
    return folder


VERSION_ROUTES = [list_versions, load_version, switch_version, rollback_version, unload_version]
"""The versions API (behind the API key)."""
