"""ModelVersions: the versions of the served embedding model, side by side, one the default.

A new version of an embedding model (`edgembed improve` promotes them) makes every vector a RAG
already stored incomparable with the new version's query vectors, so the server never swaps
silently. It serves each loaded version under its own id (``NAME@vN``) while the backend
re-embeds its documents with the new one; ``NAME`` goes to the default version, which changes
only when an operator says so (`edgembed versions default`, or POST /v1/versions/default), and
can go back (rollback). A switch is one assignment on the event loop: a request already
resolved finishes on the version it started on, the next one gets the new default, none is
dropped. Unloading waits for the version's queued requests.

Hooks let corpus search keep one index per version (`on_load`, `on_switch`, `on_unload`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgembed.config import ServeSettings
from edgembed.errors import ConfigError, RequestError
from edgembed.server.model_ids import ModelRef, parse_model_id, versioned_id
from edgembed.server.prometheus import ServerMetrics
from edgembed.server.protocol import Embedder
from edgembed.server.service import EmbeddingService

__all__ = ["LoadExport", "ModelVersions", "Version"]

logger = logging.getLogger(__name__)

LoadExport = Callable[[Path], Embedder]
"""Load an export folder as an embedder (on a worker thread): `serve` passes OnnxEmbedder's."""


@dataclass
class Version:
    """One loaded version: its service, where it came from and when it was loaded."""

    service: EmbeddingService
    export: str = ""
    lineage: Mapping[str, Any] = field(default_factory=dict)
    loaded: int = field(default_factory=lambda: int(time.time()))

    @property
    def number(self) -> int:
        return self.service.version


class ModelVersions:
    """The loaded versions of one embedding model and which of them ``NAME`` names."""

    def __init__(
        self,
        settings: ServeSettings,
        metrics: ServerMetrics,
        embedders: list[Embedder],
        *,
        load: LoadExport | None = None,
    ) -> None:
        """`embedders`: the versions served from the start, the first one the default."""
        self.settings = settings
        self.metrics = metrics
        self.name = settings.model_name or embedders[0].model_name
        self._load = load
        self._versions: dict[int, Version] = {}
        for embedder in embedders:
            if embedder.version in self._versions:
                raise ConfigError(
                    f"Two of the exports served are both v{embedder.version} of '{self.name}': "
                    "serve each version once (`edgembed improve` numbers them)."
                )
            self._versions[embedder.version] = self._version(embedder)
        self.default = embedders[0].version
        self.previous: int | None = None
        self.on_load: list[Callable[[Version], Awaitable[None]]] = []
        self.on_switch: list[Callable[[Version], None]] = []
        self.on_unload: list[Callable[[int], None]] = []
        self._changing = asyncio.Lock()

    @property
    def current(self) -> EmbeddingService:
        """The default version's service."""
        return self._versions[self.default].service

    @property
    def loaded(self) -> list[Version]:
        """The loaded versions, oldest first."""
        return [self._versions[number] for number in sorted(self._versions)]

    @property
    def ready(self) -> bool:
        return all(version.service.ready for version in self._versions.values())

    @property
    def can_load(self) -> bool:
        """Whether versions can be loaded while the server runs (POST /v1/versions)."""
        return self._load is not None

    def resolve(self, requested: str) -> tuple[EmbeddingService, ModelRef]:
        """The service a model id names (``NAME``: the default version).

        Raises:
            RequestError: 404 for another model or a version not loaded here.
        """
        ref = parse_model_id(requested)
        if ref.version is None:
            self.current.check_model(requested)
            return self.current, ref
        version = self._versions.get(ref.version)
        if ref.name != self.name or version is None:
            self.current.check_model(ref.name)  # a 404 naming the model, when that is wrong
            raise RequestError(
                f"Version {ref.version} of '{self.name}' is not loaded here; loaded: "
                f"{self._listing()}. GET /v1/versions lists them.",
                status=404,
                param="model",
                code="model_not_found",
            )
        return version.service, ref

    def get(self, number: int) -> Version:
        """A loaded version. Raises RequestError (404) for one not loaded."""
        version = self._versions.get(number)
        if version is None:
            raise RequestError(
                f"Version {number} of '{self.name}' is not loaded; loaded: {self._listing()}.",
                status=404,
                param="version",
                code="version_not_found",
            )
        return version

    def switch(self, number: int) -> Version:
        """Make version `number` the default (the one ``NAME`` names).

        Raises:
            RequestError: 404 for a version not loaded, 409 for one still warming up.
        """
        version = self.get(number)
        if not version.service.ready:
            raise RequestError(
                f"Version {number} is still warming up; switch once GET /v1/versions says it "
                "is ready.",
                status=409,
                code="version_not_ready",
            )
        if number != self.default:
            self.previous, self.default = self.default, number
            for hook in self.on_switch:
                hook(version)
            logger.info("the default version of '%s' is now v%d", self.name, number)
        return version

    def rollback(self) -> Version:
        """Go back to the default before the last switch.

        Raises:
            RequestError: 409 when there was no switch, or that version is unloaded since.
        """
        if self.previous is None or self.previous not in self._versions:
            raise RequestError(
                "There is no earlier default to roll back to: no switch happened since start, or "
                "the version it switched from was unloaded. POST /v1/versions/default names one.",
                status=409,
                code="no_rollback",
            )
        return self.switch(self.previous)

    async def load(self, export: Path) -> Version:
        """Load the export folder `export`, warm it up, let the hooks prepare it (search
        embeds its corpus), then serve it as its own version beside the others.

        Raises:
            RequestError: 404 when loading is off, 409 for a version loaded already, 422 for a
                folder that is not a loadable export of this model, 500 when it fails its
                warm-up.
        """
        if self._load is None:
            raise RequestError(
                "This server loads no versions while it runs. Start it with `edgembed serve "
                "EXPORT --version OTHER_EXPORT` instead.",
                status=404,
                code="versions_disabled",
            )
        async with self._changing:
            embedder = await self._loaded_embedder(export)
            self._check_new(embedder)
            version = self._version(embedder, export)
            version.service.start()
            if not await version.service.warmed_up():
                await version.service.stop()
                raise RequestError(
                    f"{export.name} failed its warm-up; the server's log says why.", status=500
                )
            try:
                for hook in self.on_load:
                    await hook(version)
            except BaseException:
                await version.service.stop()
                raise
            self._versions[version.number] = version
        logger.info("loaded %s as v%d of '%s'", export, version.number, self.name)
        return version

    async def unload(self, number: int) -> Version:
        """Stop serving version `number` once its queued requests are answered.

        Raises:
            RequestError: 404 for a version not loaded, 409 for the default one.
        """
        async with self._changing:
            version = self.get(number)
            if number == self.default:
                raise RequestError(
                    f"v{number} is the default version: switch to another one first.",
                    status=409,
                    code="version_is_default",
                )
            del self._versions[number]
            for hook in self.on_unload:
                hook(number)
        await version.service.stop()
        return version

    @asynccontextmanager
    async def lifespan(self, _app: object) -> AsyncIterator[None]:
        """Run every loaded version while the app runs; stop them all at the end."""
        for version in self._versions.values():
            version.service.start()
        try:
            yield
        finally:
            for version in list(self._versions.values()):
                await version.service.stop()

    async def _loaded_embedder(self, export: Path) -> Embedder:
        assert self._load is not None
        try:
            return await asyncio.to_thread(self._load, export)
        except Exception as exc:  # a broken or foreign folder: say what is wrong with it
            raise RequestError(
                f"Cannot load {export.name}: {exc}",
                status=422,
                param="export",
                code="invalid_export",
            ) from exc

    def _version(self, embedder: Embedder, export: Path | None = None) -> Version:
        service = EmbeddingService(embedder, self.settings, self.metrics, model_name=self.name)
        export = export or getattr(embedder, "export_dir", None)
        manifest = getattr(embedder, "manifest", None)
        lineage = dict(getattr(manifest, "lineage", None) or {})
        return Version(service, export.name if export else "", lineage)

    def _check_new(self, embedder: Embedder) -> None:
        if embedder.version in self._versions:
            raise RequestError(
                f"{versioned_id(self.name, embedder.version)} is loaded already. Unload it "
                "first (DELETE /v1/versions/N) to load another export as that version.",
                status=409,
                code="version_loaded",
            )

    def _listing(self) -> str:
        return ", ".join(versioned_id(self.name, n) for n in sorted(self._versions))
