"""int8 quantization of the tiny model's graph, per instruction set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from edgembed.exporter import ALL_INT8, ISAS, ExportResult, detect_isa
from edgembed.exporter.quantize import (
    ffn_output_nodes,
    keep_ffn_fp32,
    ladder,
    optimize_graph,
    quantize_int8,
)
from edgembed.exporter.smoothing import layer_norm_peaks, smooth_layer_norm_inputs


def test_detect_isa_names_a_known_family() -> None:
    assert detect_isa() in ISAS


def _run(path: Path) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return _embed(session, [[101, 7592, 2088, 102], [101, 2023, 2003, 1037, 102]])


@pytest.mark.parametrize("isa", ISAS)
def test_a_row_gets_the_same_int8_vector_in_any_batch(
    isa: str, tiny_exports: dict[str, ExportResult], tmp_path: Path
) -> None:
    """Activation scales are per token row: neither the other rows of a call nor padding
    move a row, and no op scales activations over the whole call."""
    fused = tmp_path / "fused.onnx"
    assert optimize_graph(tiny_exports["mean"].out / "model.onnx", fused)
    quantize_int8(fused, tmp_path / "int8.onnx", isa, ALL_INT8)
    ops = {node.op_type for node in onnx.load(str(tmp_path / "int8.onnx")).graph.node}
    assert not {"DynamicQuantizeLinear", "DynamicQuantizeMatMul", "QAttention"} & ops
    session = ort.InferenceSession(str(tmp_path / "int8.onnx"), providers=["CPUExecutionProvider"])
    row = [101, 2129, 2116, 1052, 3406, 2420, 102]
    alone = _embed(session, [row])[0]
    for others in (
        [[101, 7929, 102]],
        [[101, 2073, 2003, 1996, 5581, 2843, 1029, 102]] * 31,
        [[101, *range(2000, 2120), 102]],
    ):
        beside = _embed(session, [row, *others])[0]
        assert float(beside @ alone) >= 0.9999


def _embed(session: ort.InferenceSession, rows: list[list[int]]) -> np.ndarray:
    length = max(map(len, rows))
    ids = np.zeros((len(rows), length), dtype=np.int64)
    for r, row in enumerate(rows):
        ids[r, : len(row)] = row
    mask = (ids != 0).astype(np.int64)
    feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    return np.asarray(session.run(None, feeds)[0])


def test_smoothing_moves_scale_into_the_weights_without_changing_fp32(
    tiny_exports: dict[str, ExportResult], tmp_path: Path
) -> None:
    fused, smoothed = tmp_path / "fused.onnx", tmp_path / "smoothed.onnx"
    assert optimize_graph(tiny_exports["mean"].out / "model.onnx", fused)
    peaks = layer_norm_peaks(fused, [[101, 7592, 2088, 102], [101, 2023, 2003, 1037, 102]])
    model = onnx.load(str(fused))
    # Per layer: the input of Q/K/V and of the FFN up projection (2 layers, 4 in all).
    assert smooth_layer_norm_inputs(model, peaks) == 4
    onnx.save(model, str(smoothed))
    np.testing.assert_allclose(_run(smoothed), _run(fused), atol=1e-5)
    settings = quantize_int8(fused, tmp_path / "int8.onnx", "avx512_vnni", ALL_INT8, peaks)
    assert settings["smoothing"] == {"alpha": 0.5, "activations": 4}


@pytest.mark.parametrize("isa", ISAS)
def test_each_isa_quantizes_to_a_close_graph(
    isa: str, tiny_exports: dict[str, ExportResult], tmp_path: Path
) -> None:
    fp32 = tiny_exports["mean"].out / "model.onnx"
    fused = tmp_path / "fused.onnx"
    assert optimize_graph(fp32, fused)
    settings = quantize_int8(fused, tmp_path / "int8.onnx", isa, ALL_INT8)
    assert settings["isa"] == isa
    assert settings["weights"] == ("uint8" if isa == "avx2" else "int8")
    cosine = (_run(fp32) * _run(tmp_path / "int8.onnx")).sum(axis=1)
    assert cosine.min() > 0.99
    assert (tmp_path / "int8.onnx").stat().st_size < fp32.stat().st_size / 2


def test_ffn_recipes_keep_the_chosen_down_projections_in_fp32(
    tiny_exports: dict[str, ExportResult], tmp_path: Path
) -> None:
    fused = tmp_path / "fused.onnx"
    optimize_graph(tiny_exports["cls"].out / "model.onnx", fused)
    nodes = ffn_output_nodes(fused)
    assert len(nodes) == 2  # one per layer of the 2-layer model
    for kept in ([nodes[1]], nodes):
        recipe = keep_ffn_fp32(kept, len(nodes))
        settings = quantize_int8(fused, tmp_path / "int8.onnx", "avx512_vnni", recipe)
        assert settings["fp32_nodes"] == kept and settings["recipe"] == recipe.name
        graph = onnx.load(str(tmp_path / "int8.onnx")).graph
        plain = {node.name for node in graph.node if node.op_type == "MatMul"}
        assert set(kept) <= plain  # left as fp32 MatMuls
        assert not set(nodes) - set(kept) & plain  # the others were quantized
    assert keep_ffn_fp32(nodes, 2).name == "per-channel-ffn-fp32"
    assert keep_ffn_fp32(nodes[:1], 2).name == "per-channel-ffn-fp32-1of2"


def test_fusion_leaves_residual_layer_norms_and_gelu_bias_plain(
    tiny_exports: dict[str, ExportResult], tmp_path: Path
) -> None:
    """GELU and attention (as MultiHeadAttention, projections outside) are fused;
    SkipLayerNormalization and BiasGelu, slower on CPU than the ops they replace (the bias then
    folds into the int8 product), are not, nor is Attention (its int8 form scales activations
    per call)."""
    fused = tmp_path / "fused.onnx"
    assert optimize_graph(tiny_exports["mean"].out / "model.onnx", fused)
    ops = {node.op_type for node in onnx.load(str(fused)).graph.node}
    assert {"Gelu", "LayerNormalization", "MultiHeadAttention"} <= ops
    assert not {"SkipLayerNormalization", "BiasGelu", "Attention"} & ops


@pytest.mark.parametrize(
    ("total", "counts"),
    [(0, []), (1, [1]), (2, [1, 2]), (6, [1, 2, 4, 6]), (12, [1, 2, 4, 8, 12]), (8, [1, 2, 4, 8])],
)
def test_ladder_tries_few_recipes_cheapest_first(total: int, counts: list[int]) -> None:
    assert ladder(total) == counts
