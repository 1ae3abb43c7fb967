"""The backends the bench compares: the PyTorch model and the export's ONNX variants.

Each is loaded the way a user runs it: sentence-transformers `encode` for PyTorch (the model
the export was made from), `OnnxEmbedder.embed` for fp32 and int8 on onnxruntime and for the
fp32 file on OpenVINO (`openvino`). Texts in, normalised embeddings out, tokenization
included.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from edgembed.errors import EdgembedError, MissingExtraError
from edgembed.formats.descriptor import ModelDescriptor
from edgembed.formats.manifest import read_manifest
from edgembed.runtime.cpu import physical_cores

if TYPE_CHECKING:
    from edgembed.runtime import OnnxEmbedder

__all__ = ["OPENVINO", "PYTORCH", "Backend", "load_backend", "load_backends"]

log = logging.getLogger(__name__)

PYTORCH = "pytorch"
OPENVINO = "openvino"
BATCH_SIZE = 32

Embed = Callable[[Sequence[str], str | None], NDArray[np.float32]]
"""Texts and their input type (``query``, ``document`` or None: the model's default prompt) ->
(n, dimension) float32, normalised."""


@dataclass(frozen=True)
class Backend:
    """One way of embedding texts.

    Attributes:
        name: ``pytorch``, ``fp32``, ``int8`` or ``openvino``.
        embed: texts and their input type -> (n, dimension) float32, normalised, with the
            prompt the export's model description gives that input type.
        threads: the intra-op threads it computes with.
        detail: library versions and settings, for the report.
    """

    name: str
    embed: Embed
    threads: int
    detail: str


def load_backend(name: str, export_dir: Path, model: str | None, threads: int | None) -> Backend:
    """Load one backend.

    Args:
        name: ``pytorch``, ``fp32``, ``int8`` (onnxruntime) or ``openvino`` (the fp32 file).
        export_dir: the export folder.
        model: the PyTorch model (folder, bundled: name or cached hub id); None: the export
            manifest's source model.
        threads: intra-op threads; None: each library's default (one per physical core).

    Raises:
        MissingExtraError: torch / sentence-transformers, onnxruntime or openvino is not
            installed.
        ModelError, ManifestError: the model or the export cannot be loaded.
    """
    if name == PYTORCH:
        manifest = read_manifest(export_dir)
        return _pytorch(model or manifest.source_model, manifest.model, threads)
    from edgembed.runtime import OnnxEmbedder

    if name == OPENVINO:
        from edgembed.runtime.openvino import openvino_version

        embedder = OnnxEmbedder(export_dir, "fp32", threads=threads, engine=OPENVINO)
        detail = f"openvino {openvino_version()}, fp32 file in {embedder.precision}"
        return Backend(name, _onnx_embed(embedder), threads or physical_cores(), detail)
    embedder = OnnxEmbedder(export_dir, variant=name, threads=threads)
    import onnxruntime

    recipe = embedder.manifest.model_file(name).quantization or {}
    detail = f"onnxruntime {onnxruntime.__version__}"
    if recipe:
        detail += f", {recipe.get('recipe', 'int8')} ({recipe.get('isa', '?')})"
    return Backend(name, _onnx_embed(embedder), threads or physical_cores(), detail)


def _onnx_embed(embedder: OnnxEmbedder) -> Embed:
    def embed(texts: Sequence[str], input_type: str | None = None) -> NDArray[np.float32]:
        return embedder.embed(texts, batch_size=BATCH_SIZE, input_type=input_type)

    return embed


def _pytorch(model: str, descriptor: ModelDescriptor, threads: int | None) -> Backend:
    try:
        import torch
    except ImportError as exc:
        raise MissingExtraError("torch", "train") from exc
    from edgembed.models import encode, load_sentence_transformer

    if threads is not None:
        torch.set_num_threads(threads)
    st = load_sentence_transformer(model, device="cpu")

    def embed(texts: Sequence[str], input_type: str | None = None) -> NDArray[np.float32]:
        return encode(st, texts, descriptor.prompt_text(input_type), batch_size=BATCH_SIZE)

    return Backend(PYTORCH, embed, torch.get_num_threads(), f"torch {torch.__version__}, {model}")


def load_backends(
    export_dir: Path,
    model: str | None,
    threads: int | None,
    engines: Sequence[str] = ("onnxruntime",),
) -> tuple[list[Backend], list[str]]:
    """PyTorch (when it can be loaded), every ONNX variant of the export on onnxruntime and
    its fp32 file on OpenVINO, for the `engines` named.

    A PyTorch model that cannot be loaded is skipped with a note, unless `model` names it
    explicitly (then its error is raised): the runtime image has no torch, and an export
    copied from elsewhere may not have its source model beside it.

    Returns:
        the backends, PyTorch first; notes on what was skipped and why.
    """
    backends: list[Backend] = []
    notes: list[str] = []
    try:
        backends.append(load_backend(PYTORCH, export_dir, model, threads))
    except EdgembedError as exc:
        if model is not None:
            raise
        notes.append(
            f"PyTorch skipped: {exc}. Ratios to PyTorch are left out (pass --model to name "
            "the PyTorch model)."
        )
        log.warning("%s", notes[-1])
    if "onnxruntime" in engines:
        for variant in read_manifest(export_dir).variants:
            backends.append(load_backend(variant, export_dir, None, threads))
    if OPENVINO in engines:
        backends.append(load_backend(OPENVINO, export_dir, None, threads))
    return backends, notes
