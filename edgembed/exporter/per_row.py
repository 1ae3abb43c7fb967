"""Per-row dynamic int8: each token's activations get their own scale, computed at run time.

onnxruntime's dynamic quantization (DynamicQuantizeLinear, and QAttention inside a fused
Attention) scales a MatMul's activations over the whole call: every other text in the batch,
padding included, moves a text's vector. Here each MatMul with a constant weight becomes

    x [.., K] -> rows [M, K] -> scale per row = max|row| / 127 -> QuantizeLinear(axis 0, zero
    point 128) -> MatMulIntegerToFloat(x_q, W_q, row scales [M, 1], per-column weight scales)

so a row's int8 values depend on that row alone, and a text gets the same vector alone, in any
batch and beside any padding (given one attention kernel: see unpadded.py). The activations are
symmetric around the zero point 128, which keeps onnxruntime on its u8 x s8 kernels
(MatMulInteger refuses a zero point per row). The row scales go in as MatMulIntegerToFloat's
activation scale, shaped [M, 1], which onnxruntime applies to the product inside the op (the
same values as a Mul after it, one op fewer per product: 1% at 4x128, a lane's call;
docs/findings.md).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import onnx

__all__ = ["quantize_matmuls_per_row", "quantized_weight", "replace_nodes"]

_MS_DOMAIN = "com.microsoft"


def quantize_matmuls_per_row(
    model: onnx.ModelProto, fp32_nodes: Collection[str], unsigned_weights: bool
) -> list[str]:
    """Rewrite, in place, every MatMul of `model` whose second input is a 2-D constant weight
    (except those named in `fp32_nodes`) into per-row int8. MatMuls that read the same tensor
    (attention's Q, K and V) share one quantization of it.

    Args:
        model: the fp32 graph (fused or not).
        fp32_nodes: MatMuls to leave in fp32.
        unsigned_weights: store the weights as u8 with zero point 128 (u8 x u8 products never
            saturate; for AVX2 without VNNI) instead of s8.

    Returns:
        The names of the MatMuls rewritten.
    """
    from onnx import helper

    graph = model.graph
    weights = {init.name: init for init in graph.initializer}
    const = _Constants(graph)
    quantized: set[str] = set()
    nodes: list[Any] = []
    rewritten = []
    for node in graph.node:
        weight = weights.get(node.input[1]) if node.op_type == "MatMul" else None
        if weight is None or len(weight.dims) != 2 or node.name in fp32_nodes:
            nodes.append(node)
            continue
        if node.input[0] not in quantized:
            nodes.extend(_quantize_rows(node.input[0], weight.dims[0], const))
            quantized.add(node.input[0])
        nodes.extend(_matmul(node, weight, const, unsigned_weights))
        rewritten.append(node.name)
    replace_nodes(graph, nodes)
    if all(opset.domain != _MS_DOMAIN for opset in model.opset_import):
        model.opset_import.append(helper.make_opsetid(_MS_DOMAIN, 1))
    return rewritten


def replace_nodes(graph: Any, nodes: list[Any]) -> None:
    """Give `graph` these nodes, in this order, and drop the initializers none of them reads."""
    del graph.node[:]
    graph.node.extend(nodes)
    used = {name for node in graph.node for name in node.input}
    kept = [init for init in graph.initializer if init.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)


class _Constants:
    """Adds initializers to the graph; `shared` ones once, whoever asks."""

    def __init__(self, graph: Any) -> None:
        self.graph = graph
        self.names: set[str] = set()

    def shared(self, name: str, value: Any) -> str:
        if name not in self.names:
            self.add(name, value)
            self.names.add(name)
        return name

    def add(self, name: str, value: Any) -> str:
        from onnx import numpy_helper

        self.graph.initializer.append(numpy_helper.from_array(np.asarray(value), name))
        return name


_Spec = tuple[str, list[str], list[str], dict[str, Any]]


def _rows(tensor: str, part: str) -> str:
    """The name of one of the tensors that quantizing `tensor`'s rows makes."""
    return f"{tensor}/per_row/{part}"


def _quantize_rows(tensor: str, k: int, const: _Constants) -> list[Any]:
    """[.., K] -> u8 rows [M, K] (zero point 128), their scales [M, 1] and the leading dims."""
    specs: list[_Spec] = [
        (
            "Reshape",
            [tensor, const.shared(f"per_row/rows_{k}", np.array([-1, k], np.int64))],
            ["rows"],
            {},
        ),
        # max|x| from the two reductions: they only read the rows, where Abs would write a copy.
        ("ReduceMax", ["rows"], ["high"], {"axes": [1], "keepdims": 0}),
        ("ReduceMin", ["rows"], ["low"], {"axes": [1], "keepdims": 0}),
        ("Neg", ["low"], ["minus_low"], {}),
        ("Max", ["high", "minus_low"], ["peak"], {}),
        ("Mul", ["peak", const.shared("per_row/inv127", np.float32(1 / 127))], ["raw_scale"], {}),
        # An all-zero row (never seen in practice) must not divide by zero.
        ("Max", ["raw_scale", const.shared("per_row/tiny", np.float32(1e-12))], ["scale"], {}),
        ("Shape", ["scale"], ["count"], {}),
        (
            "Expand",
            [const.shared("per_row/zero_128", np.array([128], np.uint8)), "count"],
            ["zeros"],
            {},
        ),
        ("QuantizeLinear", ["rows", "scale", "zeros"], ["rows_q"], {"axis": 0}),
        (
            "Unsqueeze",
            ["scale", const.shared("per_row/axis_1", np.array([1], np.int64))],
            ["row_scale"],
            {},
        ),
        ("Shape", [tensor], ["leading"], {"end": -1}),
    ]
    return _make(specs, _rows(tensor, ""))


def _matmul(node: Any, weight: Any, const: _Constants, unsigned: bool) -> list[Any]:
    """The int8 product of already quantized rows, back in fp32 and in the input's shape."""
    n = weight.dims[1]
    base = node.name or node.output[0]
    x = node.input[0]
    w_q, w_scale, w_zero = quantized_weight(weight, unsigned)
    specs: list[_Spec] = [
        (
            "MatMulIntegerToFloat",
            [
                _rows(x, "rows_q"),
                const.add(f"{base}/per_row/weight", w_q),
                _rows(x, "row_scale"),
                const.add(f"{base}/per_row/weight_scale", w_scale),
                const.shared("per_row/zero_point", np.uint8(128)),
                const.add(f"{base}/per_row/weight_zero", w_zero),
            ],
            ["rows_out"],
            {"domain": _MS_DOMAIN},
        ),
        (
            "Concat",
            [_rows(x, "leading"), const.shared(f"per_row/columns_{n}", np.array([n], np.int64))],
            ["out_shape"],
            {"axis": 0},
        ),
        ("Reshape", ["rows_out", "out_shape"], list(node.output), {}),
    ]
    return _make(specs, f"{base}/per_row/", keep=set(node.output))


def _make(specs: list[_Spec], prefix: str, keep: Collection[str] = ()) -> list[Any]:
    """Nodes from specs; the tensors they make get `prefix`, except those in `keep`."""
    from onnx import helper

    local = {o for _, _, outputs, _ in specs for o in outputs} - set(keep)

    def rename(name: str) -> str:
        return prefix + name if name in local else name

    return [
        helper.make_node(
            op,
            [rename(i) for i in inputs],
            [rename(o) for o in outputs],
            name=f"{prefix}op{index}",
            **attrs,
        )
        for index, (op, inputs, outputs, attrs) in enumerate(specs)
    ]


def quantized_weight(weight: Any, unsigned: bool) -> tuple[Any, Any, Any]:
    """Symmetric int8 per output column: (weights, scales, zero point)."""
    from onnx import numpy_helper

    values = numpy_helper.to_array(weight).astype(np.float32)
    scales = np.abs(values).max(axis=0) / 127.0
    scales = np.where(scales > 0, scales, 1.0).astype(np.float32)
    quantized = np.clip(np.round(values / scales), -127, 127)
    if unsigned:
        return (quantized + 128).astype(np.uint8), scales, np.array(128, np.uint8)
    return quantized.astype(np.int8), scales, np.array(0, np.int8)
