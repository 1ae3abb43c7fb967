"""Describe a model folder without loading it: read its sentence-transformers and Hugging Face
configuration files (no torch) into a `ModelDescriptor`.

Understands sentence-transformers embedding folders (a Transformer, a Pooling module, optional
Dense and Normalize modules, prompts), sentence-transformers CrossEncoder folders, and plain
Hugging Face sequence-classification folders with one label (a reranker).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from edgembed.errors import ModelError
from edgembed.formats.descriptor import (
    DOCUMENT_PROMPT_NAMES,
    QUERY_PROMPT_NAMES,
    ModelDescriptor,
)

__all__ = ["describe_model", "pooling_includes_prompt", "read_pooling"]

# The boolean keys of the old Pooling config, and the mode each one switches on.
_LEGACY_POOLING_KEYS = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}
_ACTIVATIONS = {
    "torch.nn.modules.activation.Sigmoid": "sigmoid",
    "torch.nn.modules.linear.Identity": "identity",
}


def _json(path: Path) -> dict[str, Any]:
    """A JSON object file; {} when it does not exist.

    Raises:
        ModelError: it exists but is not a JSON object.
    """
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path} cannot be read: {exc}") from exc
    if not isinstance(data, dict):
        raise ModelError(f"{path} is not a JSON object")
    return data


def _modules(path: Path) -> list[dict[str, Any]]:
    modules_file = path / "modules.json"
    if not modules_file.is_file():
        return []
    try:
        modules = json.loads(modules_file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"{modules_file} cannot be read: {exc}") from exc
    if not isinstance(modules, list) or not all(isinstance(m, dict) for m in modules):
        raise ModelError(f"{modules_file} is not a list of modules")
    return modules


def _of_type(modules: list[dict[str, Any]], suffix: str) -> list[dict[str, Any]]:
    return [m for m in modules if str(m.get("type", "")).endswith(suffix)]


def read_pooling(path: Path, modules: list[dict[str, Any]]) -> tuple[str, bool]:
    """The pooling mode of the model's one Pooling module, and whether it pools over the prompt
    tokens too (sentence-transformers' ``include_prompt``).

    Raises:
        ModelError: there is not exactly one Pooling module, or it combines several modes.
    """
    pooling = _of_type(modules, ".Pooling")
    if len(pooling) != 1:
        raise ModelError(
            f"{path} has {len(pooling)} Pooling modules in modules.json; an embedding model has "
            "exactly one. Pass a folder saved by SentenceTransformer.save()."
        )
    config = _json(path / str(pooling[0].get("path", "")) / "config.json")
    mode = config.get("pooling_mode")
    modes = (
        [mode]
        if isinstance(mode, str)
        else [str(m) for m in mode]
        if isinstance(mode, list)
        else [name for key, name in _LEGACY_POOLING_KEYS.items() if config.get(key) is True]
    )
    if len(modes) != 1:
        raise ModelError(
            f"the Pooling module of {path} combines {modes or 'no'} modes; edgembed takes models "
            "that pool one way (mean, cls, max, lasttoken, ...)."
        )
    return modes[0], bool(config.get("include_prompt", True))


def _prompt_names(prompts: Mapping[str, str]) -> tuple[str | None, str | None]:
    """The prompt names for queries and for documents, by the names authors use."""
    query = next((name for name in QUERY_PROMPT_NAMES if name in prompts), None)
    document = next((name for name in DOCUMENT_PROMPT_NAMES if name in prompts), None)
    return query, document


def _parameters(path: Path) -> int:
    """Weights in the folder's safetensors files (read from their headers), else an estimate
    from the size of its PyTorch weight files (4 bytes a weight)."""
    total = 0
    for file in sorted(path.glob("*.safetensors")):
        with file.open("rb") as handle:
            (size,) = struct.unpack("<Q", handle.read(8))
            header = json.loads(handle.read(size))
        for name, tensor in header.items():
            if name != "__metadata__":
                count = 1
                for dim in tensor["shape"]:
                    count *= int(dim)
                total += count
    if not total:
        total = sum(f.stat().st_size for f in path.glob("pytorch_model*.bin")) // 4
    return total


def _transformer(path: Path, modules: list[dict[str, Any]]) -> tuple[Path, dict[str, Any]]:
    """The transformer's own folder and its config.json."""
    found = _of_type(modules, ".Transformer")
    folder = path / str(found[0].get("path", "")) if found else path
    config = _json(folder / "config.json")
    if not (folder / "config.json").is_file():
        raise ModelError(
            f"{path} has no config.json for its transformer; pass a folder saved by "
            "SentenceTransformer.save() or a Hugging Face model folder."
        )
    return folder, config


def _window(folder: Path, config: Mapping[str, Any]) -> int:
    """The token window: sentence-transformers' max_seq_length, else the tokenizer's
    model_max_length, else the model's position embeddings."""
    window = _json(folder / "sentence_bert_config.json").get("max_seq_length")
    if not isinstance(window, int):
        window = _json(folder / "tokenizer_config.json").get("model_max_length")
    limit = config.get("max_position_embeddings")
    if not isinstance(window, int) or window > 1_000_000:  # HF's "no limit" sentinel
        window = limit if isinstance(limit, int) else 512
    return int(window)


def _is_reranker(config: Mapping[str, Any], st_config: Mapping[str, Any]) -> bool:
    if st_config.get("model_type") == "CrossEncoder":
        return True
    architectures = config.get("architectures") or []
    return any(str(a).endswith("ForSequenceClassification") for a in architectures)


def _reranker(
    path: Path, config: Mapping[str, Any], st_config: Mapping[str, Any]
) -> dict[str, Any]:
    labels = len(config.get("id2label") or {"0": "LABEL_0"})
    if labels != 1:
        raise ModelError(
            f"{path} is a classifier with {labels} labels; a reranker gives one relevance score "
            "per pair (num_labels=1), as sentence-transformers' CrossEncoder does."
        )
    legacy = config.get("sentence_transformers") or {}
    path_name = st_config.get("activation_fn") or legacy.get("activation_fn")
    activation = _ACTIVATIONS.get(str(path_name), "sigmoid" if path_name is None else "")
    if not activation:
        raise ModelError(
            f"{path} applies the activation {path_name} to its score; edgembed reproduces "
            "Sigmoid (CrossEncoder's default) and Identity."
        )
    return {"kind": "reranker", "dimension": 1, "activation": activation}


def _embedder(path: Path, modules: list[dict[str, Any]], hidden: int) -> dict[str, Any]:
    if not modules:
        raise ModelError(
            f"{path} has no modules.json, so it is not a sentence-transformers model and its "
            "pooling is unknown. Pass a folder written by `edgembed train` or by "
            "SentenceTransformer.save()."
        )
    pooling, include_prompt = read_pooling(path, modules)
    dense = []
    for module in _of_type(modules, ".Dense"):
        layer = _json(path / str(module.get("path", "")) / "config.json")
        dense.append((int(layer["in_features"]), int(layer["out_features"])))
    dimension = dense[-1][1] if dense else hidden
    return {
        "kind": "embedder",
        "pooling": pooling,
        "include_prompt": include_prompt,
        "dense_layers": tuple(dense),
        "dimension": dimension,
        "normalize": bool(_of_type(modules, ".Normalize")),
    }


def describe_model(path: Path) -> ModelDescriptor:
    """What the model in `path` is: kind, architecture, pooling, prompts, window, size.

    Raises:
        ModelError: the folder is not a model edgembed understands; the message says why.
    """
    modules = _modules(path)
    folder, config = _transformer(path, modules)
    st_config = _json(path / "config_sentence_transformers.json")
    hidden = int(config.get("hidden_size") or config.get("dim") or config.get("d_model") or 0)
    if _is_reranker(config, st_config):
        shape = _reranker(path, config, st_config)
    else:
        shape = _embedder(path, modules, hidden)
        shape.pop("include_prompt")
    prompts = {str(k): str(v) for k, v in (st_config.get("prompts") or {}).items()}
    query, document = _prompt_names(prompts)
    default = st_config.get("default_prompt_name")
    return ModelDescriptor(
        architecture=str(config.get("model_type", "unknown")),
        max_seq_length=_window(folder, config),
        prompts=prompts,
        default_prompt_name=default if default in prompts else None,
        query_prompt=query,
        document_prompt=document,
        padding_side=str(_json(folder / "tokenizer_config.json").get("padding_side", "right")),
        layers=int(config.get("num_hidden_layers") or config.get("n_layers") or 0),
        hidden_size=hidden,
        parameters=_parameters(folder),
        **shape,
    )


def pooling_includes_prompt(path: Path) -> bool:
    """Whether the embedding model in `path` pools over its prompt's tokens too (True for
    nearly every model; INSTRUCTOR-style models leave the instruction out of the pooling)."""
    modules = _modules(path)
    return not _of_type(modules, ".Pooling") or read_pooling(path, modules)[1]
