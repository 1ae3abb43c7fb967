"""fp32 ONNX -> int8 ONNX: graph fusion, then dynamic quantization tuned for a CPU family.

Activations are quantized with a scale per token row (per_row.py), not per call: with
onnxruntime's per-call scales a query's vector moved with whatever shared its call (cosine
0.988-0.991 to itself alone on MiniLM), and per-row scales are also the more accurate. On the
bundled MiniLM (130 sample questions, 74 chunks, 20 one-to-three-word inputs and the built-in
texts; cosine to fp32 mean/min, short inputs' mean): per-call all-int8 0.9928/0.956/0.983,
per-call with the six FFN projections in fp32 0.9958/0.963/0.987; per-row all-int8
0.9968/0.971/0.990 at 23 MB, every text the same alone and in any batch; with the layer-norm
outputs smoothed (smoothing.py, calibrated on the built-in texts) 0.9986/0.988/0.996, at no
measurable cost in speed. Per-row costs some speed where per-call had one fused op per MatMul:
interleaved on 2 busy cores, per-call with one FFN projection in fp32 measured 2.19 ms at 1x16
and 1534 ms at 32x128, per-row smoothed 2.97 and 1633 ms (min of rounds). The figures below
are from the per-call era; the FFN ladder still applies to per-row recipes.

What was measured on all-MiniLM-L6-v2 (64 hand-written questions over the 74-chunk sample
corpus; cosine to PyTorch min/mean): plain per-tensor dynamic quantization 0.911/0.958;
reduce_range 0.755/0.861; per-channel weights 0.989/0.994; static QDQ calibrated on the corpus
0.875/0.936 (MinMax) and 0.794/0.885 (percentile); per-channel with the feed-forward output
projections (the MatMuls after GELU, whose activations carry outliers) kept in fp32
0.994/0.997, at 33 MB instead of 23 MB. Fine-tuned models suffer more: on the same questions a
MiniLM fine-tuned on the sample corpus kept 97.2% of its NDCG@10 with per-channel and 100.2%
with the FFN projections in fp32.

Those fp32 projections cost speed (int8 MiniLM on 2 cores: 1.37 ms at 1x16 and 229 ms at
32x128 all-int8, 1.84 and 318 ms with all six in fp32), and they do not matter alike: keeping
one layer's projection in fp32 at a time, the first layer's recovered 40-45% of the cosine
lost to int8 on the base and on a fine-tuned MiniLM (layers 1-2 about 20%, 3-5 under 10%),
and alone brought both to the target (NDCG@10 100.4% and 99.8% of fp32 on their eval pairs)
at 1.43 ms and 238 ms. So the exporter tries all-int8 first, then ranks the projections by
that measured sensitivity and keeps the 1, 2, 4, ... most sensitive in fp32 (`ladder`),
stopping at the first recipe that reaches the accuracy target.

Fusing the graph first (GELU, layer norm, onnxruntime's transformer optimizer; attention no
longer, see optimize_graph) kept
the accuracy; on a 16-core Xeon it ran 10-27% faster at 8 threads, the same at 4 and 25% slower
for a 32-query batch on 1 thread. It is kept because the server runs one thread per core by
default, and because the fused GELU nodes are how the FFN projections are found."""

from __future__ import annotations

import logging
import platform
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgembed.errors import ExportError, MissingExtraError
from edgembed.exporter.per_row import quantize_matmuls_per_row
from edgembed.exporter.smoothing import ALPHA, Peaks, smooth_layer_norm_inputs
from edgembed.runtime.cpu import this_cpu_int8_path

__all__ = [
    "ALL_INT8",
    "ISAS",
    "QuantRecipe",
    "detect_isa",
    "ffn_output_nodes",
    "keep_ffn_fp32",
    "ladder",
    "optimize_graph",
    "quantize_int8",
]

log = logging.getLogger(__name__)

ISAS = ("avx512_vnni", "avx2", "arm64")
# Ops whose input is a GELU output: the feed-forward down projections, whose activations carry
# the outliers that hurt int8 most.
_GELU_OPS = {"Gelu", "BiasGelu", "FastGelu", "QuickGelu"}


@dataclass(frozen=True)
class QuantRecipe:
    """One way to quantize: which MatMuls stay in fp32 (none: every quantizable op int8)."""

    name: str
    fp32_nodes: tuple[str, ...]
    description: str


ALL_INT8 = QuantRecipe(
    "per-channel", (), "int8 per-row activations, per-channel weights, every MatMul (fused graph)"
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


def detect_isa() -> str:
    """The int8 instruction set of this machine: avx512_vnni, avx2 or arm64.

    AVX-VNNI and AMX count as avx512_vnni: they all multiply u8 x s8 without the saturation
    that plain AVX2 (and AVX-512 without VNNI) suffers. Unknown x86 CPUs get avx2, the safe
    choice.
    """
    path = this_cpu_int8_path()
    if path.startswith("arm") or platform.machine().lower() in ("arm64", "aarch64"):
        return "arm64"
    return "avx512_vnni" if path in ("amx", "avx512-vnni", "avx-vnni") else "avx2"


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
    # Attention stays MatMuls: a fused Attention is quantized as QAttention, which scales its
    # input over the whole call, so other texts in a batch would move a text's vector.
    options.enable_attention = False
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
    src: Path, dst: Path, isa: str, recipe: QuantRecipe, peaks: Peaks | None = None
) -> dict[str, Any]:
    """Quantize `src` to int8 for `isa` with `recipe`, writing `dst`: the embedding tables
    weight-only, every MatMul with per-row activation scales (see per_row.py) except the
    recipe's fp32 nodes; with `peaks` (layer_norm_peaks of `src`), the layer-norm outputs
    smoothed first (smoothing.py).

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
        # u8 x s8 saturates on AVX2 without VNNI; u8 weights avoid it at a small speed cost.
        quantize_matmuls_per_row(model, recipe.fp32_nodes, unsigned_weights=isa == "avx2")
        onnx.save(model, str(dst))
    except Exception as exc:  # onnxruntime's quantizer and onnx raise bare exceptions
        raise ExportError(f"int8 quantization failed: {exc}") from exc
    finally:
        logging.getLogger().removeFilter(hint)
        tables.unlink(missing_ok=True)
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
    """Names of the MatMuls fed by a GELU: the feed-forward down projections."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    producers = {output: node.op_type for node in graph.node for output in node.output}
    return [
        node.name
        for node in graph.node
        if node.op_type == "MatMul" and producers.get(node.input[0]) in _GELU_OPS
    ]
