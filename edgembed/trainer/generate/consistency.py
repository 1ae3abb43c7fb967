"""Round-trip consistency filter: keep a query only if the base model can already find its chunk.

A query whose own chunk the base embedding model does not rank in its top k over the whole
corpus is often vague, answered by several passages, or not answered at all (Alberti et al.,
2019; Dai et al., 2022, "Promptagator"). On the issue's FAQ corpus this filter recovered part
of what small-LLM questions lost; it stays optional (--filter-topk) because it also throws
away the hard queries that fine-tuning learns most from.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from edgembed.corpus import Chunk
from edgembed.models import load_sentence_transformer

__all__ = ["INCONSISTENT", "ConsistencyFilter"]

INCONSISTENT = "not_in_top_k"


class ConsistencyFilter:
    """Ranks each query's chunk over the whole corpus with a base embedding model.

    Args:
        model: a model name for `load_sentence_transformer`.
        chunks: the whole chunk corpus (embedded once, here).
        top_k: a query is kept when its chunk ranks within the first `top_k`.
    """

    def __init__(self, model: str, chunks: Sequence[Chunk], top_k: int) -> None:
        self._model = load_sentence_transformer(model, device="auto")
        self._index = {chunk.id: i for i, chunk in enumerate(chunks)}
        self._corpus = self._embed([chunk.text for chunk in chunks])
        self.top_k = top_k

    def _embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        vectors = self._model.encode(
            list(texts), batch_size=32, normalize_embeddings=True, convert_to_numpy=True
        )
        return np.asarray(vectors, dtype=np.float32)

    def keeps(self, queries: Sequence[str], chunk_id: str) -> list[bool]:
        """For each query, whether `chunk_id` is among its top-k chunks."""
        if not queries:
            return []
        scores = self._embed(queries) @ self._corpus.T
        own = scores[:, self._index[chunk_id]]
        # Rank = how many chunks score strictly higher than the query's own chunk.
        ranks = (scores > own[:, None]).sum(axis=1)
        return [bool(rank < self.top_k) for rank in ranks]
