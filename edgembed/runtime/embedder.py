"""OnnxEmbedder: texts in, embeddings out, with tokenizers + an ONNX engine + numpy only.

The exported graph does the pooling (and any Dense layer) and the L2 normalisation, so the
embedder tokenizes, prepends the prompt the model's authors meant (`ModelDescriptor`), pads
each batch and runs the session.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from edgembed.errors import InputError
from edgembed.runtime.onnx_model import OnnxModel

__all__ = ["OnnxEmbedder"]


class OnnxEmbedder(OnnxModel):
    """Embeds texts with one ONNX variant of an embedding export (see `OnnxModel` for the
    arguments and what loading checks)."""

    kind: ClassVar[str] = "embedder"

    @property
    def dimension(self) -> int:
        """Length of one embedding."""
        return self.manifest.dimension

    def prompt(self, input_type: str | None = None, prompt_name: str | None = None) -> str:
        """The prompt text for a request (see `ModelDescriptor.resolve_prompt`).

        Raises:
            InputError: an unknown prompt name, or an input type the model has no prompt for.
        """
        try:
            return self.descriptor.prompt_text(input_type, prompt_name)
        except ValueError as exc:
            raise InputError(str(exc)) from exc

    def tokenize(
        self, texts: Sequence[str], *, truncate: bool = True, prompt: str = ""
    ) -> list[list[int]]:
        """Token ids per text with `prompt` in front, special tokens included; longer than
        the window, the end is cut (or InputError when `truncate` is False)."""
        return super().tokenize(
            [prompt + text for text in texts] if prompt else texts, truncate=truncate
        )

    def embed(
        self,
        texts: Sequence[str],
        batch_size: int = 32,
        *,
        input_type: str | None = None,
        prompt_name: str | None = None,
    ) -> NDArray[np.float32]:
        """Embed texts (truncated to max_seq_length tokens) with the prompt that `input_type`
        or `prompt_name` picks (the model's default without either).

        Returns:
            (len(texts), dimension) float32, one row per text in input order, L2-normalised
            when the manifest says so (every edgembed export does).
        """
        prompt = self.prompt(input_type, prompt_name)
        return self.embed_ids(self.tokenize(texts, prompt=prompt), batch_size)

    def embed_ids(self, ids: Sequence[Sequence[int]], batch_size: int = 32) -> NDArray[np.float32]:
        """Embed already-tokenized sequences (special tokens and any prompt included).

        Sequences are sorted by length inside the call and batched with others of similar
        length, so each batch pads little; a batch is also cut at `call_tokens` padded tokens.
        The result is in input order.

        Raises:
            InputError: a sequence is empty, too long, or holds an id outside the vocabulary.
            ConfigError: `batch_size` is below 1.
        """
        self.check_ids(ids)
        return self._run_batches(ids, batch_size)
