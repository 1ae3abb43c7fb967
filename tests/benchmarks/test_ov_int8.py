"""benchmarks/engines/ov_int8.py: the weight-only int8 file OpenVINO quantizes at run time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks.engines.ov_int8 import weight_only_int8
from tests.conftest import TINY_EXPORT

EXPORT = TINY_EXPORT


def _feeds(batch: int, tokens: int) -> dict[str, np.ndarray]:
    ids = np.random.default_rng(0).integers(5, 90, size=(batch, tokens)).astype(np.int64)
    return {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": 0 * ids}


def test_every_matmul_weight_becomes_int8_behind_a_dequantize(tmp_path: Path) -> None:
    import onnx

    out = tmp_path / "w8.onnx"
    count = weight_only_int8(EXPORT / "model.onnx", out)
    graph = onnx.load(str(out)).graph
    # The tiny BERT: 2 layers of Q, K, V, attention output and two feed-forward products.
    assert count == 12
    assert sum(node.op_type == "DequantizeLinear" for node in graph.node) == count
    int8 = [init for init in graph.initializer if init.data_type == onnx.TensorProto.INT8]
    assert len(int8) == count


def test_openvino_runs_it_close_to_the_fp32_file(tmp_path: Path) -> None:
    ov = pytest.importorskip("openvino")
    import onnxruntime as ort

    out = tmp_path / "w8.onnx"
    weight_only_int8(EXPORT / "model.onnx", out)
    feeds = _feeds(4, 12)
    ref = ort.InferenceSession(str(EXPORT / "model.onnx")).run(None, feeds)[0]
    compiled = ov.Core().compile_model(
        str(out),
        "CPU",
        {"INFERENCE_PRECISION_HINT": "f32", "DYNAMIC_QUANTIZATION_GROUP_SIZE": "32"},
    )
    got = np.asarray(compiled.create_infer_request().infer(feeds)[compiled.output(0)])
    cosine = (got * ref).sum(1) / np.linalg.norm(got, axis=1) / np.linalg.norm(ref, axis=1)
    assert cosine.min() > 0.99
    assert not np.allclose(got, ref, atol=1e-7)  # the weights really are int8
