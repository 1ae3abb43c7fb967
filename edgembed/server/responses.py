"""Embedding vectors -> response bodies: dimension selection, float or base64 encoding.

base64 is the little-endian float32 buffer of each vector, which the openai SDK decodes with
``numpy.frombuffer(..., dtype="float32")``: no per-number formatting at all.
"""

from __future__ import annotations

import base64
from typing import cast

import numpy as np
from numpy.typing import NDArray

from edgembed.errors import RequestError
from edgembed.server.schemas import (
    EmbeddingData,
    EmbeddingResponse,
    OllamaEmbedResponse,
    Usage,
)

__all__ = ["check_dimensions", "ollama_response", "openai_response", "select_dimensions"]


def check_dimensions(dimensions: int | None, size: int) -> None:
    """Check a requested `dimensions` against the model's vector size.

    Raises:
        RequestError: `dimensions` is not between 1 and `size`.
    """
    if dimensions is not None and not 1 <= dimensions <= size:
        raise RequestError(
            f"`dimensions` must be between 1 and {size} (this model's size), got {dimensions}.",
            param="dimensions",
        )


def select_dimensions(vectors: NDArray[np.float32], dimensions: int | None) -> NDArray[np.float32]:
    """Keep the first `dimensions` of each vector and re-normalise it to unit length."""
    if dimensions is None or dimensions >= vectors.shape[1]:
        return vectors
    kept = vectors[:, :dimensions]
    norms = np.linalg.norm(kept, axis=1, keepdims=True)
    result: NDArray[np.float32] = (kept / np.maximum(norms, 1e-12)).astype(np.float32)
    return result


def openai_response(
    vectors: NDArray[np.float32], *, model: str, tokens: int, encoding_format: str
) -> EmbeddingResponse:
    """OpenAI's embeddings response for `vectors`, as float lists or base64 float32."""
    if encoding_format == "base64":
        little_endian = vectors.astype("<f4", copy=False)
        data = [
            EmbeddingData(index=index, embedding=base64.b64encode(row.tobytes()).decode("ascii"))
            for index, row in enumerate(little_endian)
        ]
    else:
        rows = cast(list[list[float]], vectors.tolist())
        data = [EmbeddingData(index=index, embedding=row) for index, row in enumerate(rows)]
    return EmbeddingResponse(
        data=data,
        model=model,
        usage=Usage(prompt_tokens=tokens, total_tokens=tokens),
    )


def ollama_response(
    vectors: NDArray[np.float32], *, model: str, tokens: int, total_ns: int
) -> OllamaEmbedResponse:
    """Ollama's /api/embed response for `vectors`."""
    return OllamaEmbedResponse(
        model=model,
        embeddings=cast(list[list[float]], vectors.tolist()),
        total_duration=total_ns,
        load_duration=0,
        prompt_eval_count=tokens,
    )
