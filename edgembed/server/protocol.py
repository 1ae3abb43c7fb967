"""What the server needs from an embedding engine, as a protocol any engine can meet.

`edgembed.runtime.OnnxEmbedder` satisfies it; the tests use a small deterministic fake.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from edgembed.formats.descriptor import ModelDescriptor

__all__ = ["Embedder", "ModelRunner", "Reranker"]


class ModelRunner(Protocol):
    """What the batcher's model thread calls: a batch of sequences (token id lists, or a
    reranker's pairs) in, one row of results per sequence out."""

    def embed_ids(self, ids: list[Any], batch_size: int = 32) -> NDArray[np.float32]: ...

    def release_memory(self) -> None: ...


class Embedder(Protocol):
    """An engine that tokenizes texts and embeds token id sequences."""

    @property
    def dimension(self) -> int:
        """Size of one embedding vector."""
        ...

    @property
    def max_seq_length(self) -> int:
        """Longest token sequence the model accepts, special tokens included."""
        ...

    @property
    def model_name(self) -> str:
        """The model's own name (the export's)."""
        ...

    @property
    def version(self) -> int:
        """The model's version: 1 for a plain export, one more per `edgembed improve`
        promotion."""
        ...

    @property
    def vocab_size(self) -> int:
        """Token ids run from 0 to vocab_size - 1."""
        ...

    @property
    def descriptor(self) -> ModelDescriptor:
        """What the model is: its prompts and how input types map to them, above all."""
        ...

    def prompt(self, input_type: str | None = None, prompt_name: str | None = None) -> str:
        """The prompt text a request gets (`ModelDescriptor.resolve_prompt`).

        Raises:
            InputError: an unknown prompt name, or an input type the model has no prompt for.
        """
        ...

    def tokenize(
        self, texts: list[str], *, truncate: bool = True, prompt: str = ""
    ) -> list[list[int]]:
        """Token ids per text with `prompt` in front, special tokens included.

        Raises:
            InputError: a text is longer than max_seq_length and ``truncate`` is False.
        """
        ...

    def embed_ids(self, ids: list[list[int]], batch_size: int = 32) -> NDArray[np.float32]:
        """L2-normalised float32 embeddings, one row per token id sequence."""
        ...

    def release_memory(self) -> None:
        """Give back memory that big batches left behind (called when the server is idle)."""
        ...


class Reranker(Protocol):
    """An engine that scores (query, passage) pairs (`edgembed.runtime.OnnxReranker`)."""

    @property
    def descriptor(self) -> ModelDescriptor: ...

    @property
    def max_seq_length(self) -> int: ...

    @property
    def model_name(self) -> str: ...

    def tokenize_pairs(
        self, query: str, documents: Sequence[str], *, truncate: bool = True
    ) -> list[Any]:
        """The pairs as the model reads them (each with a length in tokens).

        Raises:
            InputError: `truncate` is False and a pair is longer than max_seq_length.
        """
        ...

    def embed_ids(self, ids: list[Any], batch_size: int = 32) -> NDArray[np.float32]:
        """Scores of tokenized pairs, (n, 1)."""
        ...

    def release_memory(self) -> None: ...
