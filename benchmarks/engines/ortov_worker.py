"""onnxruntime's OpenVINO execution provider, serving `compare.py` over a pipe.

onnxruntime-openvino installs as `onnxruntime` itself, so it cannot sit beside the
onnxruntime in edgembed's venv: it lives in a venv of its own and this worker runs there,
embedding with edgembed's own OnnxEmbedder (tokenization, length batching) whose session is
swapped for one on the OpenVINO provider. Requests are pickled (texts, batch_size) on stdin,
answers pickled arrays on stdout; an empty list is a no-op (to time the pipe alone).

    /tmp/ortov-venv/bin/python benchmarks/engines/ortov_worker.py EXPORT {bf16,f32}
"""

from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import onnxruntime as ort  # noqa: E402

from edgembed.runtime import OnnxEmbedder  # noqa: E402
from edgembed.runtime.session import OrtSession  # noqa: E402


def provider_options(precision: str) -> dict[str, str]:
    """The EP takes FP32 or ACCURACY as `precision` on CPU; bf16 goes through OpenVINO's own
    INFERENCE_PRECISION_HINT in `load_config`."""
    if precision == "bf16":
        return {
            "device_type": "CPU",
            "load_config": json.dumps({"CPU": {"INFERENCE_PRECISION_HINT": "bf16"}}),
        }
    return {"device_type": "CPU", "precision": "FP32"}


def main() -> None:
    export, precision = Path(sys.argv[1]), sys.argv[2]
    embedder = OnnxEmbedder(export, variant="fp32")
    options = ort.SessionOptions()
    options.log_severity_level = 3
    # OpenVINO compiles the graph itself; onnxruntime's fusions would hide ops from it.
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(
        str(export / embedder.manifest.model_file("fp32").path),
        options,
        providers=[("OpenVINOExecutionProvider", provider_options(precision))],
    )
    if session.get_providers()[0] != "OpenVINOExecutionProvider":
        raise SystemExit(f"the OpenVINO provider did not load: {session.get_providers()}")
    embedder._session = OrtSession(session, precision)  # noqa: SLF001 - a research harness
    detail = f"onnxruntime-openvino {ort.__version__}, {precision}"
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    pickle.dump(detail, stdout)
    stdout.flush()
    while True:
        try:
            texts, batch_size = pickle.load(stdin)
        except EOFError:
            return
        out = embedder.embed(texts, batch_size) if texts else np.zeros((0, 0), np.float32)
        pickle.dump(out, stdout)
        stdout.flush()


if __name__ == "__main__":
    main()
