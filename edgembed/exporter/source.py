"""The model to export: where it is, what it is called, and how it pools, read from its folder.

Pooling is read from the sentence-transformers folder itself, never assumed. Both layouts of
1_Pooling/config.json are understood: sentence-transformers >= 5.7 writes
``{"pooling_mode": "mean"}``, older versions ``{"pooling_mode_mean_tokens": true, ...}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgembed.errors import ExportError, ModelError
from edgembed.formats.training_record import read_training_record
from edgembed.models import find_model
from edgembed.workspace import Workspace

__all__ = ["SUPPORTED_POOLING", "SourceModel", "find_source", "read_pooling"]

SUPPORTED_POOLING = ("mean", "cls")

# The boolean keys of the old Pooling config, and the mode each one switches on.
_LEGACY_POOLING_KEYS = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}


@dataclass(frozen=True)
class SourceModel:
    """A sentence-transformers folder ready to export.

    Attributes:
        path: the model folder.
        name: the default export name (the folder's, or the bundled/hub model's name).
        pooling: ``mean`` or ``cls``.
        has_normalize: whether the model ends with a Normalize module.
        base_model: what it was fine-tuned from, when its training metrics say.
        evaluation: its training metrics (``edgembed_training.json``), when present.
    """

    path: Path
    name: str
    pooling: str
    has_normalize: bool
    base_model: str | None
    evaluation: Mapping[str, Any] | None


def find_source(spec: str | None, workspace: Workspace) -> SourceModel:
    """Resolve the model to export: `spec`, or the newest folder under WORKSPACE/models/.

    Raises:
        ModelError: there is no such model, or no trained model when `spec` is None.
        ExportError: the folder is not a sentence-transformers model edgembed can export.
    """
    path = find_model(spec, workspace)
    modules = _modules(path)
    record = read_training_record(path)
    return SourceModel(
        path=path,
        name=_default_name(spec, path),
        pooling=read_pooling(path, modules),
        has_normalize=any(str(m.get("type", "")).endswith(".Normalize") for m in modules),
        base_model=record.base_model if record else None,
        evaluation=record.to_json() if record else None,
    )


def _default_name(spec: str | None, path: Path) -> str:
    if spec is not None and spec.startswith("bundled:"):
        return spec.removeprefix("bundled:")
    if spec is not None and not Path(spec).expanduser().exists():
        return spec.rsplit("/", 1)[-1]  # a hub id: org/name
    return path.resolve().name


def _modules(path: Path) -> list[dict[str, Any]]:
    modules_file = path / "modules.json"
    if not modules_file.is_file():
        raise ExportError(
            f"{path} has no modules.json, so it is not a sentence-transformers model and its "
            "pooling is unknown. Export a folder written by `edgembed train` or by "
            "SentenceTransformer.save()."
        )
    try:
        modules = json.loads(modules_file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"{modules_file} cannot be read: {exc}") from exc
    if not isinstance(modules, list) or not all(isinstance(m, dict) for m in modules):
        raise ModelError(f"{modules_file} is not a list of modules")
    return modules


def read_pooling(path: Path, modules: list[dict[str, Any]]) -> str:
    """The pooling mode of the model's Pooling module, from its config.json.

    Raises:
        ExportError: there is no Pooling module, or its mode is not mean or CLS.
    """
    pooling = [m for m in modules if str(m.get("type", "")).endswith(".Pooling")]
    if len(pooling) != 1:
        raise ExportError(
            f"{path} has {len(pooling)} Pooling modules in modules.json; edgembed exports models "
            "with exactly one (mean or CLS pooling)."
        )
    config_file = path / str(pooling[0].get("path", "")) / "config.json"
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"cannot read the pooling configuration {config_file}: {exc}") from exc
    modes = _pooling_modes(config)
    if len(modes) != 1 or modes[0] not in SUPPORTED_POOLING:
        raise ExportError(
            f"{config_file} asks for pooling {modes or 'none'}; edgembed exports mean or CLS "
            "pooling only."
        )
    return modes[0]


def _pooling_modes(config: Mapping[str, Any]) -> list[str]:
    mode = config.get("pooling_mode")
    if isinstance(mode, str):
        return [mode]
    if isinstance(mode, list):
        return [str(m) for m in mode]
    return [name for key, name in _LEGACY_POOLING_KEYS.items() if config.get(key) is True]
