"""The runtime's onnxruntime session: the graph passes it turns off stay off."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import onnx
import onnxruntime as ort
import pytest

from edgembed.runtime.session import create_session, fused_slow_ops


def _op_types(path: Path) -> set[str]:
    return {node.op_type for node in onnx.load(str(path)).graph.node}


def test_residual_layer_norms_are_not_fused_back(
    tiny_export: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The exported int8 graph keeps Add + LayerNormalization, and the session keeps them too
    (onnxruntime's SkipLayerNormFusion would merge them into its slower kernel)."""
    int8 = tiny_export / "model.int8.onnx"
    assert "LayerNormalization" in _op_types(int8)
    assert "SkipLayerNormalization" not in _op_types(int8)
    optimized = tmp_path / "optimized.onnx"
    real = ort.InferenceSession

    def saving(path: str, options: ort.SessionOptions, **kwargs: Any) -> ort.InferenceSession:
        options.optimized_model_filepath = str(optimized)
        return real(path, options, **kwargs)

    monkeypatch.setattr(ort, "InferenceSession", saving)
    create_session(int8, threads=1)
    kept = _op_types(optimized)
    assert "LayerNormalization" in kept
    assert "SkipLayerNormalization" not in kept


def test_an_old_export_with_the_slow_fused_op_is_named(
    tiny_export: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An export made before the change still loads, with a warning that says how to fix it."""
    assert fused_slow_ops(tiny_export / "model.int8.onnx") == []
    graph = onnx.load(str(tiny_export / "model.int8.onnx"))
    for node in graph.graph.node:
        if node.op_type == "LayerNormalization":
            x, gamma, beta = node.input
            node.op_type, node.domain = "SkipLayerNormalization", "com.microsoft"
            node.input[:] = [x, x, gamma, beta]  # the input as its own skip, for the test
            kept = [a for a in node.attribute if a.name == "epsilon"]
            del node.attribute[:]
            node.attribute.extend(kept)
            break
    old = tmp_path / "old.onnx"
    onnx.save(graph, str(old))
    assert fused_slow_ops(old) == ["SkipLayerNormalization"]
    with caplog.at_level("WARNING", logger="edgembed.runtime.session"):
        create_session(old, threads=1)
    assert "edgembed export --force" in caplog.text
