"""PyTorch -> ONNX: one graph from token ids to what the model gives: the final, L2-normalised
sentence embedding of an embedder, or the activated relevance score of a reranker.

An embedder's graph is traced through the loaded SentenceTransformer's own modules
(transformer, pooling, normalize, and any dense layers), so it computes exactly what
``model.encode`` does; a reranker's through the CrossEncoder's sequence classifier and its
activation, as ``CrossEncoder.predict`` computes. It uses the TorchScript exporter: torch's
newer dynamo exporter needs onnxscript, which edgembed does not depend on, and the TorchScript
graph is proven by the parity check that follows every export.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgembed.atomic import write_text
from edgembed.errors import ExportError
from edgembed.formats.manifest import INPUT_NAMES

if TYPE_CHECKING:
    from sentence_transformers import CrossEncoder, SentenceTransformer

__all__ = [
    "OPSET",
    "OUTPUT_NAME",
    "SCORE_NAME",
    "GraphInfo",
    "export_onnx",
    "export_reranker_onnx",
    "write_tokenizer",
]

OUTPUT_NAME = "sentence_embedding"
SCORE_NAME = "scores"
_NO_VMAP = "sdpa_without_vmap"
OPSET = 17
# Two sentences of different lengths, so the traced graph pads and masks like a real batch.
_SAMPLE = ["edgembed traces this sentence to build the graph.", "short one"]


# A query and a passage, so the traced graph of a reranker reads pairs as it will be fed them.
_PAIRS = [("what does edgembed trace?", "edgembed traces this sentence to build the graph."),
          ("short query", "short one")]  # fmt: skip


@dataclass(frozen=True)
class GraphInfo:
    """What the exported graph takes and gives."""

    inputs: tuple[str, ...]
    dimension: int
    max_seq_length: int
    vocab_size: int
    pad_token_id: int
    output: str = OUTPUT_NAME


def export_onnx(model: SentenceTransformer, path: Path, add_normalize: bool) -> GraphInfo:
    """Write the fp32 ONNX graph of `model` to `path`.

    Args:
        model: a loaded SentenceTransformer whose first module is a Hugging Face transformer.
        path: the .onnx file to write.
        add_normalize: append L2 normalisation (for models without a Normalize module).

    Raises:
        ExportError: the model is not transformer-based or cannot be traced.
    """
    transformer: Any = model[0]
    tokenizer = getattr(transformer, "tokenizer", None)
    if not hasattr(transformer, "auto_model") or tokenizer is None:
        raise ExportError(
            "only transformer-based sentence-transformers models can be exported "
            f"(the first module is {type(transformer).__name__})"
        )
    max_seq_length = model.max_seq_length
    if not max_seq_length:
        raise ExportError("the model has no max_seq_length; set it in sentence_bert_config.json")
    inputs = tuple(n for n in INPUT_NAMES if n in tokenizer.model_input_names)
    sample = tokenizer(_SAMPLE, padding=True, truncation=True, return_tensors="pt")
    wrapper = _sentence_embedding_module(model, inputs, add_normalize)
    args = tuple(sample[name] for name in inputs)
    try:
        with _traceable_masks(transformer.auto_model):
            dimension = _trace(wrapper, args, inputs, path, OUTPUT_NAME)
    except Exception as exc:  # torch raises many types while tracing
        raise ExportError(f"ONNX export failed: {exc}") from exc
    return GraphInfo(
        inputs=inputs,
        dimension=dimension,
        max_seq_length=int(max_seq_length),
        vocab_size=int(transformer.auto_model.get_input_embeddings().num_embeddings),
        pad_token_id=int(tokenizer.pad_token_id or 0),
    )


def export_reranker_onnx(
    model: CrossEncoder, path: Path, activation: str, max_seq_length: int
) -> GraphInfo:
    """Write the fp32 ONNX graph of a cross-encoder to `path`: pairs' token ids in, one
    activated score per pair out, shape (pairs, 1).

    Args:
        activation: ``sigmoid`` or ``identity``: what CrossEncoder.predict applies.

    Raises:
        ExportError: the model cannot be traced.
    """
    tokenizer = model.tokenizer
    classifier: Any = model.model
    inputs = tuple(n for n in INPUT_NAMES if n in tokenizer.model_input_names)
    queries, passages = zip(*_PAIRS, strict=True)
    sample = tokenizer(
        list(queries), list(passages), padding=True, truncation=True, return_tensors="pt"
    )
    wrapper = _score_module(classifier, inputs, activation)
    try:
        with _traceable_masks(classifier):
            _trace(wrapper, tuple(sample[name] for name in inputs), inputs, path, SCORE_NAME)
    except Exception as exc:  # torch raises many types while tracing
        raise ExportError(f"ONNX export failed: {exc}") from exc
    return GraphInfo(
        inputs=inputs,
        dimension=1,
        max_seq_length=max_seq_length,
        vocab_size=int(classifier.get_input_embeddings().num_embeddings),
        pad_token_id=int(tokenizer.pad_token_id or 0),
        output=SCORE_NAME,
    )


@contextmanager
def _traceable_masks(auto_model: Any) -> Iterator[None]:
    """Build decoder attention masks without torch.vmap while tracing.

    Decoders (Qwen, Llama, Mistral, ...) build their causal mask with transformers'
    masking_utils, whose vmap the TorchScript tracer cannot follow ("unordered_map::at").
    transformers' own executorch export swaps in the same mask built without vmap; so do we,
    for the duration of the trace only. The model computes exactly the same vectors.
    """
    module = sys.modules.get(type(auto_model).__module__)
    config = getattr(auto_model, "config", None)
    if config is None or "create_causal_mask" not in vars(module or object):
        yield
        return
    from transformers.integrations.executorch import sdpa_mask_without_vmap
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS
    from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

    ALL_MASK_ATTENTION_FUNCTIONS.register(_NO_VMAP, sdpa_mask_without_vmap)
    ALL_ATTENTION_FUNCTIONS.register(_NO_VMAP, ALL_ATTENTION_FUNCTIONS["sdpa"])
    before = config._attn_implementation
    config._attn_implementation = _NO_VMAP
    try:
        yield
    finally:
        config._attn_implementation = before


def _trace(
    wrapper: Any, args: tuple[Any, ...], inputs: tuple[str, ...], path: Path, output: str
) -> int:
    """Trace `wrapper` on `args` into `path`; return the width of its output."""
    import torch

    dynamic = {name: {0: "batch", 1: "sequence"} for name in inputs}
    with torch.no_grad(), warnings.catch_warnings():
        # TracerWarnings about shape checks that are constant for padded text batches.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper,
            args,
            str(path),
            input_names=list(inputs),
            output_names=[output],
            dynamic_axes={**dynamic, output: {0: "batch"}},
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
        return int(wrapper(*args).shape[1])


def _sentence_embedding_module(
    model: SentenceTransformer, inputs: tuple[str, ...], add_normalize: bool
) -> Any:
    """A torch module taking the graph inputs positionally and returning the embedding."""
    import torch

    class SentenceEmbedding(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            features = dict(zip(inputs, tensors, strict=True))
            embedding: torch.Tensor = self.model(features)["sentence_embedding"]
            if add_normalize:
                embedding = torch.nn.functional.normalize(embedding, p=2.0, dim=1)
            return embedding

    return SentenceEmbedding().eval()


def _score_module(classifier: Any, inputs: tuple[str, ...], activation: str) -> Any:
    """A torch module taking the graph inputs positionally and returning activated scores."""
    import torch

    class Score(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.classifier = classifier

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            features = dict(zip(inputs, tensors, strict=True))
            logits: torch.Tensor = self.classifier(**features, return_dict=True).logits
            return torch.sigmoid(logits) if activation == "sigmoid" else logits

    return Score().eval()


def write_tokenizer(model: SentenceTransformer | CrossEncoder, path: Path) -> None:
    """Write the model's fast tokenizer as tokenizer.json (what the runtime loads).

    Raises:
        ExportError: the model has no fast (Rust) tokenizer.
    """
    backend = getattr(model.tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise ExportError(
            "the model has no fast tokenizer (tokenizer.json), which the runtime needs. Save "
            "the model with a fast tokenizer (AutoTokenizer.from_pretrained(..., use_fast=True))."
        )
    write_text(path, backend.to_str())
