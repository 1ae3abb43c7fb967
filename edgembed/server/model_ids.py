"""The model ids a request may name, and what each says about the request.

``NAME`` is the served model's default version as its authors meant it by default;
``NAME@vN`` is version N of it (`edgembed improve` promotes versions; a server may serve several
side by side, see `versions`). ``NAME:query`` and ``NAME:document`` (and ``NAME@vN:query``)
embed with the model's query or document prompt, for clients that cannot send ``input_type``
(the unmodified openai SDK inside LangChain's or LlamaIndex's OpenAI embeddings: index with
``NAME:document``, search with ``NAME:query``). ``NAME:latest`` is what Ollama clients send for
``NAME``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["INPUT_TYPE_SUFFIXES", "ModelRef", "parse_model_id", "versioned_id"]

INPUT_TYPE_SUFFIXES = ("query", "document")

_VERSION = re.compile(r"^(?P<name>.+)@v(?P<version>[1-9][0-9]{0,8})$")


@dataclass(frozen=True)
class ModelRef:
    """A model id as requested: the model's name, the input type its suffix names and the
    version it names (None: the default one)."""

    name: str
    input_type: str | None = None
    version: int | None = None


def parse_model_id(requested: str) -> ModelRef:
    """Split ``NAME[@vN][:query|:document|:latest]`` (a colon or an @ anywhere else stays in
    the name)."""
    name, colon, suffix = requested.rpartition(":")
    input_type = None
    if colon and suffix in INPUT_TYPE_SUFFIXES:
        input_type = suffix
    elif not (colon and suffix == "latest"):
        name = requested
    match = _VERSION.match(name)
    if match is None:
        return ModelRef(name, input_type)
    return ModelRef(match["name"], input_type, int(match["version"]))


def versioned_id(name: str, version: int) -> str:
    """NAME@vN."""
    return f"{name}@v{version}"
