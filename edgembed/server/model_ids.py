"""The model ids a request may name, and what each says about the request.

``NAME`` is the served model as its authors meant it by default; ``NAME:query`` and
``NAME:document`` embed with the model's query or document prompt, for clients that cannot
send ``input_type`` (the unmodified openai SDK inside LangChain's or LlamaIndex's OpenAI
embeddings: index with ``NAME:document``, search with ``NAME:query``). ``NAME:latest`` is what
Ollama clients send for ``NAME``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["INPUT_TYPE_SUFFIXES", "ModelRef", "parse_model_id"]

INPUT_TYPE_SUFFIXES = ("query", "document")


@dataclass(frozen=True)
class ModelRef:
    """A model id as requested: the model's name and the input type its suffix names."""

    name: str
    input_type: str | None = None


def parse_model_id(requested: str) -> ModelRef:
    """Split ``NAME[:query|:document|:latest]`` (a colon anywhere else stays in the name)."""
    name, colon, suffix = requested.rpartition(":")
    if colon and suffix in INPUT_TYPE_SUFFIXES:
        return ModelRef(name, suffix)
    if colon and suffix == "latest":
        return ModelRef(name)
    return ModelRef(requested)
