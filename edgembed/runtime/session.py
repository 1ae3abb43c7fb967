"""The engines that run an export's ONNX files, and the tokenizer set-up, in one place.

An engine's session answers one protocol, `ModelSession`: onnxruntime (the default, every
variant) or OpenVINO (runtime/openvino.py, the fp32 file only). Engines and tokenizers are
imported here, inside the functions, so that reading a manifest needs neither; a missing
package becomes an error that names the extra to install.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
from numpy.typing import NDArray

from edgembed.config import ENGINES
from edgembed.errors import ConfigError, ManifestError, MissingExtraError

if TYPE_CHECKING:
    import onnxruntime
    from tokenizers import Tokenizer

__all__ = [
    "ENGINES",
    "UNFUSED",
    "ModelSession",
    "OrtSession",
    "arena_shrinking_run",
    "create_session",
    "fused_slow_ops",
    "load_tokenizer",
    "trim_heap",
]

log = logging.getLogger(__name__)


class ModelSession(Protocol):
    """One ONNX file loaded by an engine: integer feeds in, one float output out."""

    input_names: tuple[str, ...]
    output_names: tuple[str, ...]
    precision: str
    """What the engine computes in: the export's variant for onnxruntime, bf16 or f32 for
    OpenVINO."""

    def run(
        self, output: str, feeds: Mapping[str, NDArray[np.int64]], *, shrink_memory: bool = False
    ) -> NDArray[np.float32]:
        """One model call. `shrink_memory`: hand back the memory the engine kept after it."""
        ...


# onnxruntime's own graph passes that the runtime turns off. SkipLayerNormFusion merges the
# residual Add into LayerNormalization as com.microsoft SkipLayerNormalization, whose CPU kernel
# (onnxruntime 1.32) took 230 us for 16x16 tokens x 384 where Add + LayerNormalization took 48;
# on the int8 MiniLM that made whole batches 1.23x (16x16) to 1.26x (32x128) slower.
UNFUSED = ("SkipLayerNormFusion",)
# The op those passes make, found in files exported before they were turned off. Protobuf
# writes a graph's nodes before its weights, so the start of the file holds every op type.
_SLOW_OPS = (b"SkipLayerNormalization",)
_NODES_BYTES = 4 << 20


def arena_shrinking_run() -> onnxruntime.RunOptions:
    """Run options that shrink the CPU memory arena back to its first chunk after the run.

    The arena keeps the peak of the largest call it served; a run with these options hands the
    rest back to the heap (measured: 73 MB after 100 inputs of 448 tokens, MiniLM int8).
    """
    import onnxruntime as ort

    options = ort.RunOptions()
    options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
    return options


def trim_heap() -> None:
    """Hand the C heap's free pages back to the system (glibc's malloc_trim; elsewhere, no-op)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: musl, macOS
        pass


def create_session(
    path: Path, threads: int | None = None, engine: str = "onnxruntime", precision: str = ""
) -> ModelSession:
    """A CPU session of `engine` for one model file.

    Args:
        path: the ONNX file.
        threads: intra-op threads; None lets the engine use one per physical core.
        engine: one of ENGINES.
        precision: what onnxruntime's session reports as its precision (the file's variant).

    Raises:
        ConfigError: `engine` is not one of ENGINES.
        MissingExtraError: the engine is not installed.
        ManifestError: the file is not a model the engine can load.
    """
    if engine == "openvino":
        from edgembed.runtime.openvino import OpenVinoSession

        return OpenVinoSession(path, threads)
    if engine != "onnxruntime":
        raise ConfigError(f"engine must be one of {', '.join(ENGINES)}; got '{engine}'")
    return OrtSession(_ort_session(path, threads), precision)


class OrtSession:
    """An onnxruntime InferenceSession behind the ModelSession protocol."""

    def __init__(self, session: onnxruntime.InferenceSession, precision: str) -> None:
        self.session = session
        self.precision = precision
        self.input_names = tuple(i.name for i in session.get_inputs())
        self.output_names = tuple(o.name for o in session.get_outputs())

    def run(
        self, output: str, feeds: Mapping[str, NDArray[np.int64]], *, shrink_memory: bool = False
    ) -> NDArray[np.float32]:
        options = arena_shrinking_run() if shrink_memory else None
        result = self.session.run([output], dict(feeds), options)
        return np.asarray(result[0], dtype=np.float32)


def _ort_session(path: Path, threads: int | None) -> onnxruntime.InferenceSession:
    # On-prem: onnxruntime must not persist a device id or send usage telemetry.
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise MissingExtraError("onnxruntime", "serve") from exc
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # One graph runs at a time per call; parallelism comes from the threads inside each op.
    options.inter_op_num_threads = 1
    if threads is not None:
        options.intra_op_num_threads = threads
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(
            str(path),
            options,
            providers=["CPUExecutionProvider"],
            disabled_optimizers=list(UNFUSED),
        )
    except Exception as exc:  # onnxruntime raises its own pybind exception types
        raise ManifestError(
            f"onnxruntime cannot load {path}: {exc}. The file is damaged or not an ONNX model; "
            "re-run `edgembed export --force`."
        ) from exc
    if slow := fused_slow_ops(path):
        log.warning(
            "%s holds %s: a fused op whose onnxruntime CPU kernel runs about 5x slower than "
            "the ops it replaces (whole batches about 1.2x slower). Re-export with `edgembed "
            "export --force` to drop it.",
            path,
            ", ".join(slow),
        )
    return session


def fused_slow_ops(path: Path) -> list[str]:
    """The slow fused op types (see UNFUSED) that an ONNX file already holds."""
    with path.open("rb") as handle:
        head = handle.read(_NODES_BYTES)
    return [op.decode() for op in _SLOW_OPS if op in head]


def load_tokenizer(path: Path, max_length: int | None) -> Tokenizer:
    """A fast tokenizer from tokenizer.json that never pads and truncates to `max_length`.

    Args:
        path: the tokenizer.json file.
        max_length: truncate to this many tokens, special tokens included; None: never.

    Raises:
        MissingExtraError: tokenizers is not installed.
        ManifestError: the file is not a tokenizer.json.
    """
    try:
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise MissingExtraError("tokenizers", "serve") from exc
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises a bare Exception on a bad file
        raise ManifestError(
            f"{path} is not a valid tokenizer.json ({exc}). Re-run `edgembed export --force`."
        ) from exc
    # Batches are padded by the embedder, per batch, after sorting by length.
    tokenizer.no_padding()
    if max_length is None:
        tokenizer.no_truncation()
    else:
        tokenizer.enable_truncation(max_length=max_length)
    return tokenizer
