"""fp32 ONNX -> int8 ONNX: graph fusion, then dynamic quantization tuned for a CPU family.

Weights are quantized per channel and activations with a scale per token row (per_row.py), so
a text embeds the same alone and in any batch; the outlier channels of layer-norm outputs are
first moved into the weights that read them (smoothing.py). The feed-forward output
projections (the MatMuls after GELU, whose activations carry outliers) lose the most in int8:
SPLIT_FFN gives each feed-forward's outlier channels a product of their own (ffn_split.py), and
`ladder` gives the recipes that keep the 1, 2, 4, ... most sensitive projections in fp32, which
the exporter tries in turn until one reaches the accuracy target. Attention skips its padding
mask on unpadded calls of long texts (unpadded.py). The measurements behind the recipe are in
docs/findings.md.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgembed.errors import ExportError, MissingExtraError
from edgembed.exporter.ffn_split import SHARE, split_ffn_outliers
from edgembed.exporter.per_row import quantize_matmuls_per_row
from edgembed.exporter.smoothing import ALPHA, Peaks, smooth_layer_norm_inputs
from edgembed.exporter.unpadded import skip_mask_when_unpadded
from edgembed.runtime.cpu import this_cpu_int8_path

__all__ = [
    "ALL_INT8",
    "SPLIT_FFN",
    "QuantRecipe",
    "ffn_output_nodes",
    "keep_ffn_fp32",
    "ladder",
    "optimize_graph",
    "quantize_int8",
]

log = logging.getLogger(__name__)

# Ops whose input is a GELU output: the feed-forward down projections, whose activations carry
# the outliers that hurt int8 most.
_GELU_OPS = {"Gelu", "BiasGelu", "FastGelu", "QuickGelu"}


@dataclass(frozen=True)
class QuantRecipe:
    """One way to quantize: which MatMuls stay in fp32 (none: every quantizable op int8)."""

    name: str
    fp32_nodes: tuple[str, ...]
    description: str
    split_ffn: bool = False
    """Each feed-forward's outlier channels in an int8 product of their own (ffn_split.py)."""


ALL_INT8 = QuantRecipe(
    "per-channel", (), "int8 per-row activations, per-channel weights, every MatMul (fused graph)"
)


SPLIT_FFN = QuantRecipe(
    "per-channel-ffn-split",
    (),
    "int8 per-row activations, per-channel weights, every MatMul; each feed-forward's "
    "largest GELU channels in an int8 product of their own",
    split_ffn=True,
)


def keep_ffn_fp32(nodes: Sequence[str], total: int) -> QuantRecipe:
    """The recipe that keeps `nodes`, `len(nodes)` of the graph's `total` FFN down
    projections, in fp32 (all of them: the historical name ``per-channel-ffn-fp32``)."""
    if len(nodes) == total:
        return QuantRecipe(
            "per-channel-ffn-fp32",
            tuple(nodes),
            "int8 per-row activations, per-channel weights; feed-forward output projections "
            "kept in fp32",
        )
    return QuantRecipe(
        f"per-channel-ffn-fp32-{len(nodes)}of{total}",
        tuple(nodes),
        f"int8 per-row activations, per-channel weights; the {len(nodes)} most int8-sensitive of "
        f"{total} feed-forward output projections kept in fp32",
    )


def ladder(total: int) -> list[int]:
    """How many of `total` sensitive projections each recipe keeps in fp32: 1, 2, 4, ...,
    then all; few tries for deep models, and the cheapest recipes first."""
    counts = []
    count = 1
    while count < total:
        counts.append(count)
        count *= 2
    return [*counts, total] if total else []


def optimize_graph(src: Path, dst: Path) -> bool:
    """Fuse attention, GELU and layer norms with onnxruntime's transformer optimizer.

    Returns:
        True when `dst` was written; False when the graph could not be optimized (the caller
        then quantizes `src` as it is).
    """
    try:
        from onnxruntime.transformers.fusion_options import FusionOptions
        from onnxruntime.transformers.optimizer import optimize_model
    except ImportError as exc:
        raise MissingExtraError("onnxruntime", "train") from exc
    options = FusionOptions("bert")
    # Residual adds stay Add + LayerNormalization: onnxruntime's SkipLayerNormalization CPU
    # kernel is ~5x slower than the two (see edgembed.runtime.session.UNFUSED).
    options.enable_skip_layer_norm = False
    options.enable_bias_skip_layer_norm = False
    # The feed-forward bias stays an Add that onnxruntime folds into the int8 product, leaving
    # a plain Gelu: 5-7% faster than BiasGelu at 32x128 (the same at 1x16).
    options.enable_bias_gelu = False
    # Attention fuses as MultiHeadAttention, which leaves the Q, K and V projections outside
    # as MatMuls for per-row int8: a fused Attention is quantized as QAttention, which scales
    # its input over the whole call, so other texts in a batch would move a text's vector.
    # Its CPU kernel is faster than the attention left as MatMuls, for the same vectors.
    options.use_multi_head_attention = True
    try:
        # num_heads/hidden_size 0: read them from the graph.
        model = optimize_model(
            str(src),
            model_type="bert",
            num_heads=0,
            hidden_size=0,
            optimization_options=options,
        )
        model.save_model_to_file(str(dst))
    except Exception as exc:  # the optimizer raises many types on graphs it does not know
        log.warning("graph fusion skipped (%s); quantizing the plain graph", exc)
        return False
    return True


def quantize_int8(
    src: Path,
    dst: Path,
    isa: str,
    recipe: QuantRecipe,
    peaks: Peaks | None = None,
    ffn_peaks: Peaks | None = None,
) -> dict[str, Any]:
    """Quantize `src` to int8 for `isa` with `recipe`, writing `dst`: the embedding tables
    weight-only, every MatMul with per-row activation scales (see per_row.py) except the
    recipe's fp32 nodes; with `peaks` (layer_norm_peaks of `src`), the layer-norm outputs
    smoothed first (smoothing.py); for a recipe that splits the feed-forwards, their GELU
    outputs' peaks in `ffn_peaks` choose the channels (ffn_split.py).

    Returns:
        The quantization settings, as recorded in manifest.json.

    Raises:
        ExportError: the graph could not be quantized.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tables = dst.with_name(f".{dst.name}.tables.onnx")
    hint = _DropPreprocessingHint()
    logging.getLogger().addFilter(hint)
    try:
        # Weight-only: a Gather reads rows of a dequantized table, so nothing depends on the
        # other texts of a call.
        quantize_dynamic(
            src,
            tables,
            per_channel=True,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["Gather", "EmbedLayerNormalization"],
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
        model = onnx.load(str(tables))
        smoothed = smooth_layer_norm_inputs(model, peaks) if peaks else 0
        split = split_ffn_outliers(model, ffn_peaks) if recipe.split_ffn and ffn_peaks else 0
        # u8 x s8 saturates on AVX2 without VNNI; u8 weights avoid it at a small speed cost.
        quantize_matmuls_per_row(model, recipe.fp32_nodes, unsigned_weights=isa == "avx2")
        unmasked = skip_mask_when_unpadded(model)
        onnx.save(model, str(dst))
    except Exception as exc:  # onnxruntime's quantizer and onnx raise bare exceptions
        raise ExportError(f"int8 quantization failed: {exc}") from exc
    finally:
        logging.getLogger().removeFilter(hint)
        tables.unlink(missing_ok=True)
    return _settings(recipe, isa, smoothed, split, unmasked)


def _settings(
    recipe: QuantRecipe, isa: str, smoothed: int, split: int, unmasked: dict[str, int] | None
) -> dict[str, Any]:
    """The quantization settings manifest.json records for a file quantize_int8 wrote."""
    return {
        "method": "dynamic-per-row",
        "recipe": recipe.name,
        "description": recipe.description,
        "isa": isa,
        "weights": "uint8" if isa == "avx2" else "int8",
        "activations": "int8 per token row (symmetric), scale computed per row",
        "per_channel": True,
        "reduce_range": False,
        "fp32_nodes": list(recipe.fp32_nodes),
        "smoothing": {"alpha": ALPHA, "activations": smoothed} if smoothed else None,
        "ffn_split": {"share": round(SHARE, 6), "feed_forwards": split} if split else None,
        # Attention layers that skip their padding mask on unpadded calls of texts at least
        # min_tokens long (unpadded.py); the runtime never pads texts that long.
        "unmasked_when_unpadded": unmasked,
        # The parity check that decides on this file runs here, so it validates this CPU's
        # int8 class only; the runtime serves fp32 on others (edgembed.runtime.cpu).
        "validated_isa": [this_cpu_int8_path()],
    }


class _DropPreprocessingHint(logging.Filter):
    """onnxruntime logs a hint to run its shape pre-processing on the root logger; that step
    fails on these graphs and measured no gain, so the hint is noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()


def ffn_output_nodes(path: Path) -> list[str]:
    """Names of the feed-forward down projections: the MatMuls fed by a GELU (BERT-style
    feed-forward), or by a gated product whose gate went through SiLU or GELU (the SwiGLU and
    GeGLU feed-forwards of decoders and ModernBERT)."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    producers = {output: node for node in graph.node for output in node.output}

    def op(tensor: str) -> str:
        node = producers.get(tensor)
        return node.op_type if node is not None else ""

    def activated(tensor: str) -> bool:
        """GELU, or SiLU written as x * Sigmoid(x)."""
        node = producers.get(tensor)
        if node is None:
            return False
        if node.op_type in _GELU_OPS:
            return True
        return node.op_type == "Mul" and any(op(i) == "Sigmoid" for i in node.input)

    def gated(tensor: str) -> bool:
        node = producers.get(tensor)
        return node is not None and node.op_type == "Mul" and any(map(activated, node.input))

    return [
        node.name
        for node in graph.node
        if node.op_type == "MatMul" and (op(node.input[0]) in _GELU_OPS or gated(node.input[0]))
    ]
