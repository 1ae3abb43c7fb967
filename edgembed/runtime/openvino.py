"""The OpenVINO engine: OpenVINO's own runtime reading the export's ONNX file.

OpenVINO reads the same model.onnx as onnxruntime and, on CPUs with bf16 units (AMX,
AVX512-BF16), runs it in bf16 by default (its INFERENCE_PRECISION_HINT); elsewhere in fp32.
It cannot run edgembed's int8 file: its ONNX reader has no QEmbedLayerNormalization, and the
per-row QuantizeLinear fails its shape check (OpenVINO 2026.4), so this engine serves the fp32
file only. Installed with ``pip install 'edgembed[openvino]'``; imported only when used.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from edgembed.errors import ManifestError, MissingExtraError

__all__ = ["OpenVinoSession", "openvino_version"]


def openvino_version() -> str:
    """The installed OpenVINO's version.

    Raises:
        MissingExtraError: openvino is not installed.
    """
    return str(_import_openvino().__version__).split("-")[0]


def _import_openvino() -> Any:
    try:
        import openvino
    except ImportError as exc:
        raise MissingExtraError("openvino", "openvino") from exc
    return openvino


class OpenVinoSession:
    """One ONNX file compiled by OpenVINO for this CPU. Safe to call from several threads.

    Args:
        path: the ONNX file.
        threads: inference threads; None: OpenVINO's default (one per physical core).
        properties: OpenVINO properties over the defaults. The default PERFORMANCE_HINT,
            LATENCY, runs one call on all threads, which is how the embedder and the server's
            model thread call it; INFERENCE_PRECISION_HINT is OpenVINO's choice for the CPU.

    Attributes:
        precision: the precision OpenVINO computes in on this CPU (``bf16`` or ``f32``).

    Raises:
        MissingExtraError: openvino is not installed.
        ManifestError: OpenVINO cannot read or compile the file.
    """

    def __init__(
        self,
        path: Path,
        threads: int | None = None,
        properties: Mapping[str, str] | None = None,
    ) -> None:
        ov = _import_openvino()
        config: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY"}
        if threads is not None:
            config["INFERENCE_NUM_THREADS"] = threads
        config.update(properties or {})
        try:
            self._compiled = ov.Core().compile_model(str(path), "CPU", config)
        except RuntimeError as exc:  # OpenVINO raises RuntimeError for any model it cannot take
            raise ManifestError(
                f"OpenVINO cannot run {path}: {exc}. Serve it with --engine onnxruntime, or "
                "re-run `edgembed export --force` if the file is damaged."
            ) from exc
        self.precision = self._compiled.get_property("INFERENCE_PRECISION_HINT").to_string()
        self.input_names = tuple(port.any_name for port in self._compiled.inputs)
        self.output_names = tuple(port.any_name for port in self._compiled.outputs)
        # An infer request holds its tensors and is not thread-safe: one per calling thread.
        self._requests = threading.local()

    def run(
        self, output: str, feeds: Mapping[str, NDArray[np.int64]], *, shrink_memory: bool = False
    ) -> NDArray[np.float32]:
        """One model call; `shrink_memory` is accepted for the session protocol (OpenVINO
        keeps no arena to shrink)."""
        request = getattr(self._requests, "request", None)
        if request is None:
            request = self._requests.request = self._compiled.create_infer_request()
        result = request.infer(dict(feeds))
        return np.asarray(result[self._compiled.output(output)], dtype=np.float32)
