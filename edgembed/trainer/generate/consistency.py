"""Round-trip consistency filter: keep a query only if the base model can already find its chunk.

A query whose own chunk the base embedding model does not rank in its top k over the whole
corpus is often vague, answered by several passages, or not answered at all (Alberti et al.,
2019; Dai et al., 2022, "Promptagator"). On a FAQ corpus with small-LLM questions this filter
recovered part of what those questions lost (docs/findings.md); it stays optional
(--filter-topk) because it also throws away the hard queries that fine-tuning learns most
from.
"""

from __future__ import annotations

from collections.abc import Sequence

from edgembed.corpus import Chunk
from edgembed.models import (
    Prompts,
    describe_model,
    encode,
    load_sentence_transformer,
    resolve_model,
)

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
        self._prompts = Prompts.of(describe_model(resolve_model(model)))
        self._index = {chunk.id: i for i, chunk in enumerate(chunks)}
        self._corpus = encode(self._model, [chunk.text for chunk in chunks], self._prompts.document)
        self.top_k = top_k

    def keeps(self, queries: Sequence[str], chunk_id: str) -> list[bool]:
        """For each query, whether `chunk_id` is among its top-k chunks."""
        if not queries:
            return []
        scores = encode(self._model, queries, self._prompts.query) @ self._corpus.T
        own = scores[:, self._index[chunk_id]]
        # Rank = how many chunks score strictly higher than the query's own chunk.
        ranks = (scores > own[:, None]).sum(axis=1)
        return [bool(rank < self.top_k) for rank in ranks]
