"""Attention without its padding mask on long calls that have no padding.

onnxruntime's MultiHeadAttention runs faster with no key padding mask, which made the whole
int8 MiniLM 1.04-1.07x faster on documents (docs/findings.md, 2026-12-07). The two kernels
differ by about 1e-6, and per-row int8 turns that into a different rounding later on: the same
text through one and through the other is 0.9998 to itself. So the graph takes the unmasked
path only on calls with no padding at all (every attention mask value 1) whose texts have at
least `MIN_TOKENS` tokens, and edgembed's runtime never pads texts that long (it groups them
one length per call, runtime/onnx_model.py): every text then takes one path, alone or in any
batch, and a padded call from another program still gets the masked, correct attention.
Shorter texts (queries) always take the masked path: batched one length per call they ran in
more, smaller calls that cost 3-6% more CPU than padded ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import onnx

__all__ = ["MIN_TOKENS", "skip_mask_when_unpadded"]

MIN_TOKENS = 64
"""Calls of texts at least this long (special tokens included) skip the mask when unpadded."""
_UNMASKED = "edgembed_unmasked"


def skip_mask_when_unpadded(
    model: onnx.ModelProto, mask_input: str = "attention_mask", min_tokens: int = MIN_TOKENS
) -> dict[str, int] | None:
    """Rewrite, in place, every MultiHeadAttention with a key padding mask into an If that runs
    it without the mask when `mask_input` holds no zero and is at least `min_tokens` long. The
    graph's answers on padded calls are unchanged.

    Returns:
        What the manifest records (``attention_layers`` rewritten, ``min_tokens``), or None
        when the graph has no masked MultiHeadAttention or no `mask_input` and is left as it
        was.
    """
    from onnx import TensorProto, helper

    graph = model.graph
    layers = sum(map(_masked_attention, graph.node))
    if not layers or all(graph_input.name != mask_input for graph_input in graph.input):
        return None
    graph.initializer.extend([
        helper.make_tensor(f"{_UNMASKED}_axis", TensorProto.INT64, [], [1]),
        helper.make_tensor(f"{_UNMASKED}_min_tokens", TensorProto.INT64, [], [min_tokens]),
    ])  # fmt: skip
    nodes: list[Any] = [
        helper.make_node("ReduceMin", [mask_input], [f"{_UNMASKED}_min"], keepdims=0),
        helper.make_node("Cast", [f"{_UNMASKED}_min"], [f"{_UNMASKED}_full"], to=TensorProto.BOOL),
        helper.make_node("Shape", [mask_input], [f"{_UNMASKED}_shape"]),
        helper.make_node(
            "Gather", [f"{_UNMASKED}_shape", f"{_UNMASKED}_axis"], [f"{_UNMASKED}_length"]
        ),
        helper.make_node(
            "GreaterOrEqual",
            [f"{_UNMASKED}_length", f"{_UNMASKED}_min_tokens"],
            [f"{_UNMASKED}_long"],
        ),
        helper.make_node("And", [f"{_UNMASKED}_full", f"{_UNMASKED}_long"], [_UNMASKED]),
    ]
    nodes.extend(_branched(node) if _masked_attention(node) else node for node in graph.node)
    # Not per_row.replace_nodes: it keeps the initializers top-level nodes read, and the
    # attention biases are now read inside the branches only.
    del graph.node[:]
    graph.node.extend(nodes)
    return {"attention_layers": layers, "min_tokens": min_tokens}


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
        [_UNMASKED],
        list(node.output),
        name=f"{node.name}_if_unpadded",
        then_branch=branch("unmasked", list(node.input[:4])),
        else_branch=branch("masked", list(node.input)),
    )
