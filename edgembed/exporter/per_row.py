"""Per-row dynamic int8: each token's activations get their own scale, computed at run time.

onnxruntime's dynamic quantization (DynamicQuantizeLinear, and QAttention inside a fused
Attention) scales a MatMul's activations over the whole call: every other text in the batch,
padding included, moves a text's vector. Here each MatMul with a constant weight becomes

    x [.., K] -> rows [M, K] -> scale per row = max|row| / 127 -> QuantizeLinear(axis 0, zero
    point 128) -> MatMulIntegerToFloat(x_q, W_q, per-column weight scales) -> * row scale

so a row's int8 values depend on that row alone, and a text gets the same vector alone, in any
batch and beside any padding. The activations are symmetric around the zero point 128, which
keeps onnxruntime on its u8 x s8 kernels (MatMulInteger refuses a zero point per row).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import onnx

__all__ = ["quantize_matmuls_per_row"]

_MS_DOMAIN = "com.microsoft"


def quantize_matmuls_per_row(
    model: onnx.ModelProto, fp32_nodes: Collection[str], unsigned_weights: bool
) -> list[str]:
    """Rewrite, in place, every MatMul of `model` whose second input is a 2-D constant weight
    (except those named in `fp32_nodes`) into per-row int8.

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
    shared = _SharedConstants(graph)
    nodes: list[Any] = []
    rewritten = []
    for node in graph.node:
        weight = weights.get(node.input[1]) if node.op_type == "MatMul" else None
        if weight is None or len(weight.dims) != 2 or node.name in fp32_nodes:
            nodes.append(node)
            continue
        nodes.extend(_per_row(node, weight, shared, unsigned_weights))
        rewritten.append(node.name)
    del graph.node[:]
    graph.node.extend(nodes)
    used = {name for node in graph.node for name in node.input}
    kept = [init for init in graph.initializer if init.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    if all(opset.domain != _MS_DOMAIN for opset in model.opset_import):
        model.opset_import.append(helper.make_opsetid(_MS_DOMAIN, 1))
    return rewritten


class _SharedConstants:
    """Small constants added to the graph once and shared by every rewritten MatMul."""

    def __init__(self, graph: Any) -> None:
        self.graph = graph
        self.names: set[str] = set()

    def __call__(self, name: str, value: Any) -> str:
        if name not in self.names:
            self.add(name, value)
            self.names.add(name)
        return name

    def add(self, name: str, value: Any) -> str:
        from onnx import numpy_helper

        self.graph.initializer.append(numpy_helper.from_array(np.asarray(value), name))
        return name


def _quantized_weight(weight: Any, unsigned: bool) -> tuple[Any, Any, Any]:
    """Symmetric int8 per output column: (weights, scales, zero point)."""
    from onnx import numpy_helper

    values = numpy_helper.to_array(weight).astype(np.float32)
    scales = np.abs(values).max(axis=0) / 127.0
    scales = np.where(scales > 0, scales, 1.0).astype(np.float32)
    quantized = np.clip(np.round(values / scales), -127, 127)
    if unsigned:
        return (quantized + 128).astype(np.uint8), scales, np.array(128, np.uint8)
    return quantized.astype(np.int8), scales, np.array(0, np.int8)


def _per_row(node: Any, weight: Any, const: _SharedConstants, unsigned: bool) -> list[Any]:
    from onnx import helper

    k, n = weight.dims
    base = node.name or node.output[0]

    def name(part: str) -> str:
        return f"{base}/per_row/{part}"

    w_q, w_scale, w_zero = _quantized_weight(weight, unsigned)
    const.add(name("weight"), w_q)
    const.add(name("weight_scale"), w_scale)
    const.add(name("weight_zero"), w_zero)
    specs: list[tuple[str, list[str], list[str], dict[str, Any]]] = [
        (
            "Reshape",
            [node.input[0], const(f"per_row/rows_{k}", np.array([-1, k], np.int64))],
            ["rows"],
            {},
        ),
        # max|x| from the two reductions: they only read the rows, where Abs would write a copy.
        ("ReduceMax", ["rows"], ["high"], {"axes": [1], "keepdims": 0}),
        ("ReduceMin", ["rows"], ["low"], {"axes": [1], "keepdims": 0}),
        ("Neg", ["low"], ["minus_low"], {}),
        ("Max", ["high", "minus_low"], ["peak"], {}),
        ("Mul", ["peak", const("per_row/inv127", np.float32(1 / 127))], ["raw_scale"], {}),
        # An all-zero row (never seen in practice) must not divide by zero.
        ("Max", ["raw_scale", const("per_row/tiny", np.float32(1e-12))], ["scale"], {}),
        ("Shape", ["scale"], ["count"], {}),
        ("Expand", [const("per_row/zero_128", np.array([128], np.uint8)), "count"], ["zeros"], {}),
        ("QuantizeLinear", ["rows", "scale", "zeros"], ["rows_q"], {"axis": 0}),
        (
            "MatMulIntegerToFloat",
            [
                "rows_q",
                name("weight"),
                const("per_row/one", np.float32(1.0)),
                name("weight_scale"),
                const("per_row/zero_point", np.uint8(128)),
                name("weight_zero"),
            ],
            ["product"],
            {"domain": "com.microsoft"},
        ),
        (
            "Unsqueeze",
            ["scale", const("per_row/axis_1", np.array([1], np.int64))],
            ["row_scale"],
            {},
        ),
        ("Mul", ["product", "row_scale"], ["rows_out"], {}),
        ("Shape", [node.input[0]], ["leading"], {"end": -1}),
        (
            "Concat",
            ["leading", const(f"per_row/columns_{n}", np.array([n], np.int64))],
            ["out_shape"],
            {"axis": 0},
        ),
        ("Reshape", ["rows_out", "out_shape"], list(node.output), {}),
    ]
    local = {output for _, _, outputs, _ in specs[:-1] for output in outputs}
    made = []
    for index, (op, inputs, outputs, attrs) in enumerate(specs):
        made.append(
            helper.make_node(
                op,
                [name(i) if i in local else i for i in inputs],
                [name(o) if o in local else o for o in outputs],
                name=name(str(index)),
                **attrs,
            )
        )
    return made
