"""OnnxReranker: (query, passage) pairs in, relevance scores out, with tokenizers + an ONNX
engine + numpy only.

The exported graph reads the pair as the cross-encoder does (one sequence, the query first,
token type ids telling the two apart) and applies the model's own activation, so a score is
what sentence-transformers' ``CrossEncoder.predict`` returns for the same pair.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from edgembed.errors import InputError
from edgembed.runtime.onnx_model import OnnxModel, prefix

__all__ = ["OnnxReranker", "PairTokens", "pearson"]


def pearson(a: NDArray[np.float32], b: NDArray[np.float32]) -> float:
    """How alike two scorings of the same candidates are: their Pearson correlation (1.0 when
    both are flat and equal, 0.0 when one is flat and they differ)."""
    if a.std() == 0 or b.std() == 0:
        return 1.0 if np.allclose(a, b, atol=1e-5) else 0.0
    return float(np.corrcoef(a, b)[0, 1])


@dataclass(frozen=True)
class PairTokens:
    """One tokenized (query, passage) pair: its token ids and token type ids."""

    ids: list[int]
    type_ids: list[int]

    def __len__(self) -> int:
        return len(self.ids)


class OnnxReranker(OnnxModel):
    """Scores (query, passage) pairs with one ONNX variant of a reranker export (see
    `OnnxModel` for the arguments and what loading checks)."""

    kind: ClassVar[str] = "reranker"

    def _check_output(self) -> None:
        self._check_width(self._run(self.tokenize_pairs("edgembed", ["a passage"])))

    def tokenize_pairs(
        self, query: str, documents: Sequence[str], *, truncate: bool = True
    ) -> list[PairTokens]:
        """The pairs (query, document) as the model reads them; a pair over the window is cut
        (the longer side first, as the cross-encoder's tokenizer does) or refused.

        Raises:
            InputError: `truncate` is False and a pair is longer than max_seq_length tokens.
        """
        budget = self.max_seq_length * 64
        head = prefix(query, budget)
        pairs = [(head, prefix(document, budget)) for document in documents]
        if not pairs:
            return []
        if not truncate:
            for index, encoding in enumerate(self._whole.encode_batch(pairs)):
                if len(encoding.ids) > self.max_seq_length:
                    raise InputError(
                        f"document {index} with the query is {len(encoding.ids)} tokens; the model "
                        f"takes at most {self.max_seq_length}. Shorten it or let it be truncated."
                    )
        encodings = self._truncating.encode_batch(pairs)
        return [PairTokens(list(e.ids), list(e.type_ids)) for e in encodings]

    def score(
        self, query: str, documents: Sequence[str], batch_size: int = 32
    ) -> NDArray[np.float32]:
        """One relevance score per document, in order (CrossEncoder.predict's scale)."""
        return self.embed_ids(self.tokenize_pairs(query, documents), batch_size)[:, 0]

    def embed_ids(self, pairs: Sequence[PairTokens], batch_size: int = 32) -> NDArray[np.float32]:
        """Scores of tokenized pairs as an (n, 1) array, in input order; batched by length.

        Raises:
            InputError: a pair is empty, too long, or holds an id outside the vocabulary.
        """
        self.check_ids([pair.ids for pair in pairs])
        return self._run_batches(pairs, batch_size)

    def _feeds(self, batch: Sequence[Sequence[int]]) -> dict[str, NDArray[np.int64]]:
        feeds = super()._feeds(
            [pair.ids if isinstance(pair, PairTokens) else pair for pair in batch]
        )
        types = feeds["token_type_ids"]
        for r, pair in enumerate(batch):
            if isinstance(pair, PairTokens):
                types[r, : len(pair.type_ids)] = pair.type_ids
        return feeds
