"""What `train` does to the model around the training loop: its window, which weights train,
the precision, and the weight-space average with the base model that is saved."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgembed.corpus import Chunk

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = [
    "attention_dropout",
    "restore_attention_dropout",
    "fit_max_seq_length",
    "freeze_token_embeddings",
    "merge_with_base",
    "recompute_activations",
    "use_bf16",
]

log = logging.getLogger(__name__)

_ATTENTION_DROPOUT_KEYS = ("attention_probs_dropout_prob", "attention_dropout")
"""Where transformers configs keep attention dropout (BERT-likes; ModernBERT, Qwen3)."""


def merge_with_base(model: SentenceTransformer, base: dict[str, Any], weight: float) -> None:
    """Set the model's weights to ``base + weight * (model - base)`` in place (WiSE-FT).

    Non-float tensors (position ids, counters) keep the fine-tuned model's values.
    """
    import torch

    if weight >= 1:
        return
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if tensor.is_floating_point() and name in base:
                tensor.copy_(torch.lerp(base[name].to(tensor.device), tensor, weight))


def fit_max_seq_length(model: SentenceTransformer, chunks: Sequence[Chunk]) -> int:
    """The model's own token window, with a warning when many passages do not fit in it.

    A longer window than the model was trained with embeds worse, not better: all-MiniLM-L6-v2
    ships with 256 tokens, and at 512 its NDCG@10 fell 3.1 points on a FAQ corpus. So passages
    are cut to fit the model (`chunk --chunk-words`), not the model stretched to the passages.
    """
    window = int(model.max_seq_length or 128)
    tokenizer = model.tokenizer
    lengths = [len(tokenizer(chunk.text, verbose=False)["input_ids"]) for chunk in chunks]
    longer = sum(n > window for n in lengths)
    if lengths and longer > 0.25 * len(lengths):
        log.warning(
            "%d of %d chunks are longer than the model's %d-token window and lose their end; "
            "re-chunk with a smaller --chunk-words (about %d words fit), or pass "
            "--max-seq-length to train on longer passages",
            longer,
            len(lengths),
            window,
            window * 3 // 4,
        )
    return window


def use_bf16(precision: str, device: str) -> bool:
    """Whether to train in bfloat16 mixed precision: asked for, or `auto` on hardware that
    computes bfloat16 natively (emulated bfloat16 is slower than fp32)."""
    if precision != "auto":
        return precision == "bf16"
    import torch

    if device == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    native = getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    amx = getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    return bool(native() or amx())


def freeze_token_embeddings(model: SentenceTransformer) -> int:
    """Stop training the token embedding table; returns how many weights were frozen."""
    transformer: Any = model[0]
    table = transformer.auto_model.get_input_embeddings()
    frozen = 0
    for parameter in table.parameters():
        parameter.requires_grad = False
        frozen += parameter.numel()
    return frozen


def recompute_activations(model: SentenceTransformer) -> bool:
    """Keep only each layer's input during the forward pass and recompute the rest in the
    backward pass (gradient checkpointing); False when the architecture cannot.

    The random state is replayed, so dropout masks and the trained weights are the same. For
    MiniLM at 16 passages of 256 tokens a step's peak falls from 2.5 to 1.3 GB for 5-30%
    more time (docs/findings.md).
    """
    transformer: Any = model[0]
    auto_model = getattr(transformer, "auto_model", None)
    if auto_model is None or not getattr(auto_model, "supports_gradient_checkpointing", False):
        return False
    auto_model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    return True


def attention_dropout(path: Path, value: float | None) -> dict[str, float]:
    """The config values that set the model's attention dropout to `value` while it trains
    (none when `value` is None: the model's own). Dropout 0 lets PyTorch's fused CPU attention
    run, which keeps no attention weights for the backward pass: for MiniLM a step 2.9x faster
    in half the memory (docs/findings.md). Only the keys the model's config has."""
    if value is None:
        return {}
    config = _transformer_config(path)
    return {key: value for key in _ATTENTION_DROPOUT_KEYS if hasattr(config, key)}


def _transformer_config(path: Path) -> Any:
    """The transformers config at `path`, or None where there is none to read (a
    sentence-transformers folder of the older layout keeps it in a subfolder): then the
    model trains with its own attention dropout."""
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError) as error:
        log.info("attention dropout: the model's own (%s)", error)
        return None


def restore_attention_dropout(config: Any, path: Path) -> None:
    """Put the attention dropout of the model at `path` back into `config` (a transformers
    config about to be saved), so a model trained with another one saves the model's own."""
    original = _transformer_config(path)
    for key in _ATTENTION_DROPOUT_KEYS:
        if hasattr(original, key) and hasattr(config, key):
            setattr(config, key, getattr(original, key))
