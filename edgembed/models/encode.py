"""Embedding texts with a loaded sentence-transformers model and the prompt its authors meant.

Every stage that embeds with PyTorch (train's mining and labelling, evaluate, export's parity
reference) goes through `encode`, so queries and documents get the same prompts there as the
served model gives them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from edgembed.errors import ModelError
from edgembed.formats.descriptor import ModelDescriptor
from edgembed.progress import progress_enabled

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["NO_PROMPTS", "Prompts", "encode"]


@dataclass(frozen=True)
class Prompts:
    """The prompt texts a model's queries and documents get ("" for none)."""

    query: str = ""
    document: str = ""

    @classmethod
    def of(cls, descriptor: ModelDescriptor) -> Prompts:
        """The prompts `descriptor`'s authors meant for retrieval's two sides.

        Raises:
            ModelError: the model has prompts, but for other tasks only.
        """
        try:
            return cls(descriptor.prompt_text("query"), descriptor.prompt_text("document"))
        except ValueError as exc:
            raise ModelError(f"{exc}; edgembed trains and evaluates retrieval models") from exc

    @property
    def any(self) -> bool:
        """Whether either side gets a prompt."""
        return bool(self.query or self.document)


NO_PROMPTS = Prompts()
"""A model without prompts (all-MiniLM-L6-v2, most older models)."""


def encode(
    model: SentenceTransformer,
    texts: Sequence[str],
    prompt: str = "",
    batch_size: int = 32,
    progress: bool = False,
) -> NDArray[np.float32]:
    """L2-normalised float32 embeddings of `texts`, each prefixed with `prompt`.

    An empty `prompt` means no prompt at all: sentence-transformers' own default prompt does
    not apply (the caller resolved it already, `ModelDescriptor.prompt_text`).
    """
    out = model.encode(
        list(texts),
        prompt=prompt,
        batch_size=batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=progress and progress_enabled(),
    )
    return np.asarray(out, dtype=np.float32)
