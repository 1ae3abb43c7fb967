"""Every model edgembed can use here: the bundled one, models in the local Hugging Face cache,
the workspace's trained models and exports, and any folder a user names; each described the
same way (`ModelDescriptor`), so a user can choose as from fastembed's model list.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgembed.errors import EdgembedError
from edgembed.formats.descriptor import ModelDescriptor
from edgembed.formats.manifest import MANIFEST_NAME, read_manifest
from edgembed.models.describe import describe_model
from edgembed.models.find import BUNDLED_MINILM, resolve_model
from edgembed.workspace import Workspace

__all__ = ["ModelEntry", "list_models"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelEntry:
    """One usable model.

    Attributes:
        name: how to name it to edgembed (``bundled:...``, a hub id, a folder, an export).
        source: ``bundled``, ``hub cache``, ``trained``, ``export`` or ``folder``.
        path: its folder.
        descriptor: what it is; None when the folder could not be read (`problem` says why).
        size_bytes: the folder's size on disk.
        problem: why it cannot be used, when it cannot.
    """

    name: str
    source: str
    path: Path
    descriptor: ModelDescriptor | None
    size_bytes: int
    problem: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "path": str(self.path),
            "model": self.descriptor.to_json() if self.descriptor else None,
            "size_bytes": self.size_bytes,
            "problem": self.problem or None,
        }


def _size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and not f.is_symlink())


def _describe(name: str, source: str, folder: Path) -> ModelEntry:
    try:
        if (folder / MANIFEST_NAME).is_file():
            descriptor = read_manifest(folder).model
        else:
            descriptor = describe_model(folder)
    except EdgembedError as exc:
        return ModelEntry(name, source, folder, None, _size(folder), str(exc))
    return ModelEntry(name, source, folder, descriptor, _size(folder))


def _bundled() -> Iterator[ModelEntry]:
    try:
        folder = resolve_model(BUNDLED_MINILM)
    except EdgembedError as exc:
        log.info("no bundled model: %s", exc)
        return
    yield _describe(BUNDLED_MINILM, "bundled", folder)


def _hub_cache() -> Iterator[ModelEntry]:
    """Snapshots in the local Hugging Face cache (HF_HUB_CACHE, HF_HOME or ~/.cache)."""
    cache = Path(
        os.environ.get("HF_HUB_CACHE")
        or Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface")) / "hub"
    )
    for repo in sorted(cache.glob("models--*")):
        snapshots = sorted((repo / "snapshots").glob("*"), key=lambda p: p.stat().st_mtime)
        if snapshots and (snapshots[-1] / "config.json").exists():
            name = repo.name.removeprefix("models--").replace("--", "/")
            yield _describe(name, "hub cache", snapshots[-1])


def _workspace(workspace: Workspace) -> Iterator[ModelEntry]:
    for parent, source in ((workspace.models, "trained"), (workspace.exports, "export")):
        if parent.is_dir():
            for folder in sorted(p for p in parent.iterdir() if p.is_dir()):
                if not folder.name.startswith("."):
                    yield _describe(str(folder), source, folder)


def _folders(folders: Iterable[Path]) -> Iterator[ModelEntry]:
    """Each folder, or each model folder directly inside it."""
    for folder in folders:
        if (folder / "config.json").exists() or (folder / MANIFEST_NAME).exists():
            yield _describe(str(folder), "folder", folder)
            continue
        for child in sorted(p for p in folder.iterdir() if p.is_dir()):
            if (child / "config.json").exists() or (child / MANIFEST_NAME).exists():
                yield _describe(str(child), "folder", child)


def list_models(workspace: Workspace, folders: Iterable[Path] = ()) -> list[ModelEntry]:
    """The bundled model, the hub cache's models, the workspace's trained models and exports,
    then `folders` (each a model folder, or a folder of them)."""
    return [
        *_bundled(),
        *_hub_cache(),
        *_workspace(workspace),
        *_folders(folders),
    ]
