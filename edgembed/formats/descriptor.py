"""ModelDescriptor: what a model is and how its authors meant it to be used, as the manifest
records it. `edgembed.models` builds one from a model folder (and re-exports the class); export,
the runtime, the server, bench and `edgembed models` read it.

Two kinds: an ``embedder`` maps a text to a vector (pooling, prompts, dimension); a
``reranker`` (cross-encoder) maps a (query, passage) pair to a score (its activation).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = [
    "DOCUMENT_PROMPT_NAMES",
    "INPUT_TYPES",
    "KINDS",
    "POOLINGS",
    "QUERY_PROMPT_NAMES",
    "RERANK_ACTIVATIONS",
    "ModelDescriptor",
]

KINDS = ("embedder", "reranker")
INPUT_TYPES = ("query", "document")
_PLURAL = {"query": "queries", "document": "documents"}
# sentence-transformers' pooling modes (Pooling.pooling_mode), as edgembed names them.
POOLINGS = ("mean", "cls", "max", "lasttoken", "mean_sqrt_len_tokens", "weightedmean")
# What CrossEncoder.predict applies to the logit (and so what a team's thresholds assume).
RERANK_ACTIVATIONS = ("sigmoid", "identity")
# The prompt names model authors use for each side of retrieval, first match wins: e5 and
# most models say query/passage or query/document, nomic search_query/search_document.
QUERY_PROMPT_NAMES = ("query", "search_query", "queries")
DOCUMENT_PROMPT_NAMES = ("document", "passage", "search_document", "corpus", "documents", "doc")


@dataclass(frozen=True)
class ModelDescriptor:
    """What a model is, and how it is meant to be used.

    Attributes:
        kind: ``embedder`` or ``reranker``.
        architecture: the transformer's ``model_type`` (bert, xlm-roberta, mpnet, distilbert,
            modernbert, qwen3, ...).
        dimension: length of an embedding (an embedder); 1 for a reranker (one score).
        max_seq_length: most tokens per input, special tokens (and a prompt) included.
        pooling: how token vectors become one (an embedder; ``""`` for a reranker).
        normalize: whether embeddings are L2-normalised (every edgembed export's are).
        dense_layers: Dense modules after pooling, as (in, out) features.
        prompts: the model's prompts by name (config_sentence_transformers.json).
        default_prompt_name: the prompt applied when a request names none; None: none.
        query_prompt, document_prompt: the prompt names for ``input_type`` query and
            document; None where the model has none for that side.
        activation: a reranker's score function (``sigmoid`` or ``identity``).
        padding_side: the side its tokenizer pads (``left`` for most decoders).
        layers, hidden_size, parameters: the transformer's depth, width and weight count.
    """

    kind: str
    architecture: str
    dimension: int
    max_seq_length: int
    pooling: str = ""
    normalize: bool = True
    dense_layers: tuple[tuple[int, int], ...] = ()
    prompts: Mapping[str, str] = field(default_factory=dict)
    default_prompt_name: str | None = None
    query_prompt: str | None = None
    document_prompt: str | None = None
    activation: str = ""
    padding_side: str = "right"
    layers: int = 0
    hidden_size: int = 0
    parameters: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown model kind '{self.kind}' (known: {', '.join(KINDS)})")
        if self.kind == "embedder" and self.pooling not in POOLINGS:
            raise ValueError(f"unknown pooling '{self.pooling}' (known: {', '.join(POOLINGS)})")
        if self.kind == "reranker" and self.activation not in RERANK_ACTIVATIONS:
            raise ValueError(f"unknown reranker activation '{self.activation}'")
        for name in (self.default_prompt_name, self.query_prompt, self.document_prompt):
            if name is not None and name not in self.prompts:
                raise ValueError(f"prompt '{name}' is not among the model's prompts")

    @property
    def is_reranker(self) -> bool:
        return self.kind == "reranker"

    def prompt_for(self, input_type: str) -> str | None:
        """The prompt name for an ``input_type`` (query or document); None: no prompt."""
        return self.query_prompt if input_type == "query" else self.document_prompt

    def resolve_prompt(
        self, input_type: str | None = None, prompt_name: str | None = None
    ) -> str | None:
        """The prompt to apply, by name (None: none), the way the model's authors meant:

        - `prompt_name` names one of the model's prompts;
        - else `input_type` (query or document) picks that side's prompt. A model without
          prompts takes none; one with a prompt for one side only (bge, arctic-embed: queries
          get an instruction, documents nothing) gives the other side none;
        - else the model's default prompt, if it has one.

        Raises:
            ValueError: `prompt_name` is not one of the model's prompts, `input_type` is not
                query or document, or the model has prompts but none for either side (its
                prompts are for other tasks: name one with `prompt_name`).
        """
        if prompt_name is not None:
            if prompt_name not in self.prompts:
                known = ", ".join(sorted(self.prompts)) or "none"
                raise ValueError(
                    f"this model has no prompt named '{prompt_name}' (its prompts: {known})"
                )
            return prompt_name
        if input_type is None:
            return self.default_prompt_name
        if input_type not in INPUT_TYPES:
            raise ValueError(f"input_type must be query or document, not '{input_type}'")
        if not self.prompts:
            return None
        if self.query_prompt is None and self.document_prompt is None:
            raise ValueError(
                f"this model has no prompt for {_PLURAL[input_type]}: its prompts ("
                f"{', '.join(sorted(self.prompts))}) are for other tasks. Name one with "
                "prompt_name, or leave input_type out for the model's default"
            )
        return self.prompt_for(input_type)

    def prompt_text(self, input_type: str | None = None, prompt_name: str | None = None) -> str:
        """The text `resolve_prompt` picks ("" for none)."""
        name = self.resolve_prompt(input_type, prompt_name)
        return self.prompts[name] if name is not None else ""

    def with_window(self, max_seq_length: int) -> ModelDescriptor:
        """The same model with another token window."""
        return replace(self, max_seq_length=max_seq_length)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "architecture": self.architecture,
            "dimension": self.dimension,
            "max_seq_length": self.max_seq_length,
            "pooling": self.pooling,
            "normalize": self.normalize,
            "dense_layers": [list(layer) for layer in self.dense_layers],
            "prompts": dict(self.prompts),
            "default_prompt_name": self.default_prompt_name,
            "query_prompt": self.query_prompt,
            "document_prompt": self.document_prompt,
            "activation": self.activation,
            "padding_side": self.padding_side,
            "layers": self.layers,
            "hidden_size": self.hidden_size,
            "parameters": self.parameters,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ModelDescriptor:
        """Parse a descriptor.

        Raises:
            ValueError: a field is missing, of the wrong type or not a known value.
        """
        prompts = data.get("prompts") or {}
        if not isinstance(prompts, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in prompts.items()
        ):
            raise ValueError("prompts must map names to strings")
        try:
            return cls(
                kind=_typed(data, "kind", str),
                architecture=_typed(data, "architecture", str),
                dimension=_typed(data, "dimension", int),
                max_seq_length=_typed(data, "max_seq_length", int),
                pooling=str(data.get("pooling") or ""),
                normalize=bool(data.get("normalize", True)),
                dense_layers=tuple((int(a), int(b)) for a, b in data.get("dense_layers") or ()),
                prompts=dict(prompts),
                default_prompt_name=data.get("default_prompt_name"),
                query_prompt=data.get("query_prompt"),
                document_prompt=data.get("document_prompt"),
                activation=str(data.get("activation") or ""),
                padding_side=str(data.get("padding_side") or "right"),
                layers=int(data.get("layers") or 0),
                hidden_size=int(data.get("hidden_size") or 0),
                parameters=int(data.get("parameters") or 0),
            )
        except (TypeError, ValueError) as exc:
            raise ValueError(f"bad model description: {exc}") from exc


def _typed(data: Mapping[str, Any], key: str, kind: type[Any]) -> Any:
    value = data.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"'{key}' is missing or not a {kind.__name__}")
    return value
