"""int8 quantization of the tiny model's graph, per instruction set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from edgembed.exporter import ALL_INT8, ISAS, ExportResult, detect_isa
from edgembed.exporter.ffn_split import SHARE, gelu_outputs, split_ffn_outliers
from edgembed.exporter.quantize import (
    SPLIT_FFN,
    ffn_output_nodes,
    keep_ffn_fp32,
    ladder,
    optimize_graph,
    quantize_int8,
)
from edgembed.exporter.smoothing import (
    activation_peaks,
    layer_norm_outputs,
    layer_norm_peaks,
    smooth_layer_norm_inputs,
)


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
    graph = onnx.load(str(tmp_path / "int8.onnx")).graph
    ops = {node.op_type for node in graph.node}
    assert not {"DynamicQuantizeLinear", "DynamicQuantizeMatMul", "QAttention"} & ops
    # Each product takes its rows' scales as its activation scale (no constant per call).
    constants = {init.name for init in graph.initializer}
    products = [node for node in graph.node if node.op_type == "MatMulIntegerToFloat"]
    assert products and not any(node.input[2] in constants for node in products)
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


@pytest.mark.parametrize("isa", ISAS)
def test_split_feed_forwards_keep_fp32_and_batch_invariance(
    isa: str, tiny_exports: dict[str, ExportResult], tmp_path: Path
) -> None:
    """The largest GELU channels go to a product of their own: the fp32 sum is unchanged, the
    channels are the ones with the highest peaks, and int8 stays per row."""
    fused, split = tmp_path / "fused.onnx", tmp_path / "split.onnx"
    assert optimize_graph(tiny_exports["mean"].out / "model.onnx", fused)
    texts = [[101, 7592, 2088, 102], [101, 2023, 2003, 1037, 102]]
    peaks, ffn_peaks = activation_peaks(fused, texts, layer_norm_outputs, gelu_outputs)
    assert len(ffn_peaks) == 2 and set(peaks).isdisjoint(ffn_peaks)
    model = onnx.load(str(fused))
    assert split_ffn_outliers(model, ffn_peaks) == 2
    onnx.save(model, str(split))
    np.testing.assert_allclose(_run(split), _run(fused), atol=1e-5)
    # The top side's up-projection columns are the weight's columns with the largest peaks.
    first = next(iter(ffn_peaks.values()))
    count = max(1, round(len(first) * SHARE))
    weights = {init.name: onnx.numpy_helper.to_array(init) for init in model.graph.initializer}
    top = [node for node in model.graph.node if node.name.endswith("/split/top/up")]
    assert len(top) == 2 and weights[top[0].input[1]].shape[1] == count
    original = onnx.load(str(fused))
    up = next(
        onnx.numpy_helper.to_array(init)
        for init in original.graph.initializer
        if init.name in {n.input[1] for n in original.graph.node if n.op_type == "MatMul"}
        and onnx.numpy_helper.to_array(init).shape[1] == len(first)
    )
    largest = np.sort(np.argsort(-first)[:count])
    np.testing.assert_array_equal(weights[top[0].input[1]], up[:, largest])
    settings = quantize_int8(fused, tmp_path / "int8.onnx", isa, SPLIT_FFN, peaks, ffn_peaks)
    assert settings["recipe"] == "per-channel-ffn-split"
    assert settings["ffn_split"] == {"share": round(SHARE, 6), "feed_forwards": 2}
    graph = onnx.load(str(tmp_path / "int8.onnx")).graph
    products = [node for node in graph.node if node.op_type == "MatMulIntegerToFloat"]
    assert len(products) == 2 * (4 + 4)  # per layer: Q, K, V, output; two ups, two downs
    session = ort.InferenceSession(str(tmp_path / "int8.onnx"), providers=["CPUExecutionProvider"])
    row = [101, 2129, 2116, 1052, 3406, 2420, 102]
    alone = _embed(session, [row])[0]
    beside = _embed(session, [row, *[[101, *range(2000, 2040), 102]] * 7])[0]
    assert float(beside @ alone) >= 0.9999
    fp32_vectors, int8_vectors = _run(split), _run(tmp_path / "int8.onnx")
    assert (fp32_vectors * int8_vectors).sum(axis=1).min() > 0.99


def test_attention_skips_its_mask_only_on_long_unpadded_calls(
    tiny_exports: dict[str, ExportResult], tmp_path: Path
) -> None:
    """Each MultiHeadAttention becomes an If: unmasked (faster) when the call has no padding
    and its texts are at least 64 tokens long, masked otherwise, so a padded call from any
    program still attends to real tokens only."""
    fused = tmp_path / "fused.onnx"
    assert optimize_graph(tiny_exports["mean"].out / "model.onnx", fused)
    settings = quantize_int8(fused, tmp_path / "int8.onnx", "avx512_vnni", ALL_INT8)
    assert settings["unmasked_when_unpadded"] == {"attention_layers": 2, "min_tokens": 64}
    model = onnx.load(str(tmp_path / "int8.onnx"))
    assert sum(node.op_type == "If" for node in model.graph.node) == 2
    assert not any(node.op_type == "MultiHeadAttention" for node in model.graph.node)
    sessions = {
        "file": ort.InferenceSession(
            str(tmp_path / "int8.onnx"), providers=["CPUExecutionProvider"]
        )
    }
    for taken in ("then_branch", "else_branch"):
        sessions[taken] = ort.InferenceSession(
            _one_branch(tmp_path / "int8.onnx", taken), providers=["CPUExecutionProvider"]
        )
    short = [[101, 7592, 2088, 102], [101, 2023, 2003, 102]]
    long = [[101, *range(2000 + row, 2068 + row), 102] for row in range(2)]
    padded = [[101, 7592, 2088, 102], [101, *range(2000, 2068), 102]]
    for rows, taken in ((long, "then_branch"), (short, "else_branch"), (padded, "else_branch")):
        np.testing.assert_array_equal(_embed(sessions["file"], rows), _embed(sessions[taken], rows))
    # Beside a longer text the short one keeps its vector (within 1e-8 here); without the
    # mask it would attend to the padding and move 1e5 times further: the If prevents it.
    alone = _embed(sessions["file"], padded[:1])[0]
    np.testing.assert_allclose(_embed(sessions["file"], padded)[0], alone, atol=1e-6)
    assert np.abs(_embed(sessions["then_branch"], padded)[0] - alone).max() > 1e-3


def _one_branch(path: Path, taken: str) -> bytes:
    """The graph at `path` with each If replaced by the attention of one of its branches."""
    model = onnx.load(str(path))
    nodes = []
    for node in model.graph.node:
        if node.op_type == "If":
            branch = next(a for a in node.attribute if a.name == taken)
            inner = onnx.helper.get_attribute_value(branch).node[0]
            inner.output[0] = node.output[0]
            node = inner
        nodes.append(node)
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return model.SerializeToString()
