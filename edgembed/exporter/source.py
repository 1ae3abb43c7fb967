"""The model to export: where it is, what it is called, and what it is (`ModelDescriptor`, read
from its folder, never assumed), with the checks that refuse what edgembed cannot export.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgembed.errors import ExportError, ModelError
from edgembed.formats.training_record import read_training_record
from edgembed.models import ModelDescriptor, describe_model, find_model, pooling_includes_prompt
from edgembed.workspace import Workspace

__all__ = ["MAX_WINDOW", "SourceModel", "find_source"]

log = logging.getLogger(__name__)

# The most tokens an export takes per input. Models with longer windows (8k, 32k) are served
# with this one: attention's memory grows with the square of the length, and a CPU appliance
# answering a 32k-token input would hold every other request for minutes.
MAX_WINDOW = 2048


@dataclass(frozen=True)
class SourceModel:
    """A model folder ready to export.

    Attributes:
        path: the model folder.
        name: the default export name (the folder's, or the bundled/hub model's name).
        descriptor: what the model is, with the window the export will serve.
        has_normalize: whether the model ends with a Normalize module.
        base_model: what it was fine-tuned from, when its training record says.
        evaluation: its training record, when it has one.
    """

    path: Path
    name: str
    descriptor: ModelDescriptor
    has_normalize: bool
    base_model: str | None
    evaluation: Mapping[str, Any] | None

    @property
    def is_reranker(self) -> bool:
        return self.descriptor.is_reranker


def find_source(
    spec: str | None, workspace: Workspace, max_seq_length: int | None = None
) -> SourceModel:
    """Resolve the model to export: `spec`, or the newest folder under WORKSPACE/models/.

    Args:
        max_seq_length: the window to serve; None: the model's own, at most MAX_WINDOW.

    Raises:
        ModelError: there is no such model, or no trained model when `spec` is None.
        ExportError: the folder is not a model edgembed can export; the message says why.
    """
    path = find_model(spec, workspace)
    try:
        descriptor = describe_model(path)
    except ModelError as exc:
        raise ExportError(f"cannot export {path}: {exc}") from exc
    if not descriptor.is_reranker and not pooling_includes_prompt(path):
        raise ExportError(
            f"{path} pools without its prompt tokens (include_prompt=false, INSTRUCTOR-style); "
            "edgembed exports models whose pooling reads every token. Save the model with "
            "include_prompt=true if its authors allow it, or serve it another way."
        )
    record = read_training_record(path)
    return SourceModel(
        path=path,
        name=_default_name(spec, path),
        descriptor=descriptor.with_window(_window(descriptor, max_seq_length)),
        has_normalize=descriptor.normalize,
        base_model=record.base_model if record else None,
        evaluation=record.to_json() if record else None,
    )


def _window(descriptor: ModelDescriptor, asked: int | None) -> int:
    if asked is not None:
        return asked
    if descriptor.max_seq_length > MAX_WINDOW:
        log.warning(
            "the model's window is %d tokens; the export serves %d (pass --max-seq-length to "
            "change it): attention's memory grows with the square of the length",
            descriptor.max_seq_length,
            MAX_WINDOW,
        )
    return min(descriptor.max_seq_length, MAX_WINDOW)


def _default_name(spec: str | None, path: Path) -> str:
    if spec is not None and spec.startswith("bundled:"):
        return spec.removeprefix("bundled:")
    if spec is not None and not Path(spec).expanduser().exists():
        return spec.rsplit("/", 1)[-1]  # a hub id: org/name
    return path.resolve().name
