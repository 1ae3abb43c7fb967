"""Attention without its padding mask on calls that have no padding.

onnxruntime's MultiHeadAttention runs about 1.35x faster with no key padding mask (on CPU it
then takes its flash-attention path), which made the whole int8 MiniLM 1.05-1.06x faster
(docs/findings.md, 2026-12-07). The two kernels differ by about 1e-6, and per-row int8 turns
that into a different rounding later on: the same text through one and through the other is
0.9998 to itself. So the graph takes the unmasked path only when the call has no padding at
all (every attention mask value 1), and edgembed's runtime never pads (it groups texts of one
length per call, runtime/onnx_model.py): every text then takes the same path, alone or in any
batch, and a padded call from another program still gets the masked, correct attention.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import onnx

__all__ = ["skip_mask_when_unpadded"]

_NO_PADDING = "edgembed_no_padding"


def skip_mask_when_unpadded(model: onnx.ModelProto, mask_input: str = "attention_mask") -> int:
    """Rewrite, in place, every MultiHeadAttention with a key padding mask into an If that runs
    it without the mask when `mask_input` holds no zero. The graph's answers on padded calls
    are unchanged.

    Returns:
        How many attention nodes were rewritten (0: the graph has no masked MultiHeadAttention
        or no `mask_input`, and is left as it was).
    """
    from onnx import TensorProto, helper

    graph = model.graph
    masked = [node for node in graph.node if _masked_attention(node)]
    if not masked or all(graph_input.name != mask_input for graph_input in graph.input):
        return 0
    nodes: list[Any] = [
        helper.make_node("ReduceMin", [mask_input], [f"{_NO_PADDING}_min"], keepdims=0),
        helper.make_node("Cast", [f"{_NO_PADDING}_min"], [_NO_PADDING], to=TensorProto.BOOL),
    ]
    for node in graph.node:
        nodes.append(_branched(node) if node in masked else node)
    del graph.node[:]
    graph.node.extend(nodes)
    return len(masked)


def _masked_attention(node: Any) -> bool:
    # MultiHeadAttention's inputs: query, key, value, bias, key_padding_mask, ...
    return node.op_type == "MultiHeadAttention" and len(node.input) == 5 and bool(node.input[4])


def _branched(node: Any) -> Any:
    from onnx import TensorProto, helper

    def branch(name: str, inputs: list[str]) -> Any:
        inner = helper.make_node(
            node.op_type, inputs, [f"{node.output[0]}_{name}"], domain=node.domain,
            name=f"{node.name}_{name}",
        )  # fmt: skip
        inner.attribute.extend(node.attribute)
        out = helper.make_tensor_value_info(inner.output[0], TensorProto.FLOAT, None)
        return helper.make_graph([inner], f"{node.name}_{name}", [], [out])

    return helper.make_node(
        "If",
        [_NO_PADDING],
        list(node.output),
        name=f"{node.name}_if_unpadded",
        then_branch=branch("unmasked", list(node.input[:4])),
        else_branch=branch("masked", list(node.input)),
    )
