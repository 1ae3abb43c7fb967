"""The feed-forward's outlier channels in an int8 product of their own.

A GELU's output carries a few channels far larger than the rest; with one int8 scale per token
row those channels set the scale and the other channels keep few levels, which is why the
feed-forward down projections lose the most in int8 (quantize.py). Here each feed-forward is cut
in two along its inner channels, the `SHARE` with the largest peaks over the calibration texts
on one side:

    x -> MatMul(W_up[:, rest]) -> + b_up[rest] -> Gelu -> MatMul(W_down[rest, :]) --+-> y
    x -> MatMul(W_up[:, top])  -> + b_up[top]  -> Gelu -> MatMul(W_down[top, :])  --+

The same sum in fp32; in int8 each part gets its own row scale. Both up projections read x,
so they share its quantization (per_row.py). On the bundled MiniLM (sample questions, 130; and
chunks, 147), all six feed-forwards cut so: mean cosine to fp32 0.99903 where every product in
int8 gives 0.99876 and one down projection kept in fp32 0.99886, at 1.04-1.06x that recipe's
speed (docs/findings.md).

Only the plain pattern is cut: a MatMul with a constant weight, an optional constant bias Add,
a Gelu, and one MatMul with a constant weight reading the Gelu. Gated feed-forwards (SwiGLU,
GeGLU) are left as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from edgembed.exporter.per_row import replace_nodes
from edgembed.exporter.smoothing import Peaks

if TYPE_CHECKING:
    import onnx

__all__ = ["SHARE", "gelu_outputs", "split_ffn_outliers"]

SHARE = 1 / 24
"""The share of a feed-forward's inner channels that goes to the outlier product (64 of
MiniLM's 1536; 16 measured 0.99900, 64 0.99903)."""


@dataclass(frozen=True)
class _Ffn:
    """One feed-forward in the graph: its nodes and the names of its constants."""

    up: Any
    bias_add: Any | None
    bias: str | None
    gelu: Any
    down: Any


def gelu_outputs(model: onnx.ModelProto) -> list[str]:
    """The GELU outputs of the feed-forwards `split_ffn_outliers` can cut (their peaks are
    what it needs)."""
    return [ffn.gelu.output[0] for ffn in _feed_forwards(model.graph)]


def split_ffn_outliers(model: onnx.ModelProto, peaks: Peaks, share: float = SHARE) -> int:
    """Cut, in place, every plain feed-forward whose GELU output has peaks in `peaks`.

    Returns:
        How many feed-forwards were cut.
    """
    from onnx import numpy_helper

    graph = model.graph
    weights = {init.name: init for init in graph.initializer}

    def array(name: str) -> np.ndarray:
        return numpy_helper.to_array(weights[name]).astype(np.float32)

    # Nodes are known by their first output: protobuf may hand out a new wrapper each time.
    replaced: dict[str, list[Any]] = {}
    dropped: set[str] = set()
    for ffn in _feed_forwards(graph):
        peak = peaks.get(ffn.gelu.output[0])
        if peak is None:
            continue
        width = len(peak)
        count = min(width - 1, max(1, round(width * share)))
        top = np.sort(np.argsort(-peak, kind="stable")[:count])
        rest = np.setdiff1d(np.arange(width), top)
        parts = (array(ffn.up.input[1]), array(ffn.down.input[1]))
        bias = array(ffn.bias) if ffn.bias is not None else None
        nodes = _branch(graph, ffn, parts, bias, rest, "rest")
        nodes += _branch(graph, ffn, parts, bias, top, "top")
        nodes.append(
            _node(
                "Add",
                [_name(ffn, "rest", "down"), _name(ffn, "top", "down")],
                list(ffn.down.output),
                f"{ffn.gelu.name}/split/sum",
            )
        )
        replaced[ffn.gelu.output[0]] = nodes
        dropped |= {ffn.up.output[0], ffn.gelu.output[0], ffn.down.output[0]}
        if ffn.bias_add is not None:
            dropped.add(ffn.bias_add.output[0])
    kept: list[Any] = []
    for node in graph.node:
        kept.extend(replaced.get(node.output[0], []))
        if node.output[0] not in dropped:
            kept.append(node)
    replace_nodes(graph, kept)
    return len(replaced)


def _feed_forwards(graph: Any) -> list[_Ffn]:
    """The plain feed-forwards, found from the nodes and the weights' shapes alone."""
    dims = {init.name: len(init.dims) for init in graph.initializer}
    producers = {output: node for node in graph.node for output in node.output}
    readers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            readers.setdefault(name, []).append(node)

    def only_reader(tensor: str) -> Any | None:
        found = readers.get(tensor, [])
        return found[0] if len(found) == 1 else None

    feed_forwards = []
    for gelu in graph.node:
        down = only_reader(gelu.output[0]) if gelu.op_type == "Gelu" else None
        if down is None or down.op_type != "MatMul" or down.input[0] != gelu.output[0]:
            continue
        before = producers.get(gelu.input[0])
        bias_add, bias = None, None
        if before is not None and before.op_type == "Add":
            biases = [name for name in before.input if dims.get(name) == 1]
            products = [name for name in before.input if name in producers]
            if only_reader(before.output[0]) is None or len(biases) != 1 or len(products) != 1:
                continue
            bias_add, bias, before = before, biases[0], producers[products[0]]
        if before is None or before.op_type != "MatMul" or only_reader(before.output[0]) is None:
            continue
        if dims.get(before.input[1]) != 2 or dims.get(down.input[1]) != 2:
            continue
        feed_forwards.append(_Ffn(before, bias_add, bias, gelu, down))
    return feed_forwards


def _branch(
    graph: Any,
    ffn: _Ffn,
    weights: tuple[np.ndarray, np.ndarray],
    bias: np.ndarray | None,
    channels: np.ndarray,
    side: str,
) -> list[Any]:
    """One side of the cut: the up projection's columns, the bias's entries and the down
    projection's rows of `channels`."""
    from onnx import numpy_helper

    def constant(part: str, values: np.ndarray) -> str:
        name = _name(ffn, side, part) + "/value"
        array = np.ascontiguousarray(values.astype(np.float32))
        graph.initializer.append(numpy_helper.from_array(array, name))
        return name

    up_weight, down_weight = weights
    up = _name(ffn, side, "up")
    nodes = [_node("MatMul", [ffn.up.input[0], constant("up", up_weight[:, channels])], [up], up)]
    if bias is not None:
        biased = _name(ffn, side, "bias")
        nodes.append(_node("Add", [up, constant("bias", bias[channels])], [biased], biased))
        up = biased
    gelu = _name(ffn, side, "gelu")
    activation = _node("Gelu", [up], [gelu], gelu, domain=ffn.gelu.domain)
    activation.attribute.extend(ffn.gelu.attribute)
    nodes.append(activation)
    down = _name(ffn, side, "down")
    nodes.append(_node("MatMul", [gelu, constant("down", down_weight[channels, :])], [down], down))
    return nodes


def _name(ffn: _Ffn, side: str, part: str) -> str:
    return f"{ffn.gelu.name or ffn.gelu.output[0]}/split/{side}/{part}"


def _node(op: str, inputs: list[str], outputs: list[str], name: str, domain: str = "") -> Any:
    from onnx import helper

    return helper.make_node(op, inputs, outputs, name=name, domain=domain or None)
