"""A deterministic stand-in for OnnxEmbedder: whitespace tokens hashed into vectors."""

from __future__ import annotations

import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from edgembed.errors import InputError
from edgembed.formats.descriptor import ModelDescriptor

CLS, SEP = 101, 102


class FakeEmbedder:
    """Meets edgembed.server.Embedder; a text's vector is the normalised sum of its tokens'.

    Each sequence is embedded on its own, so results never depend on how requests were batched.
    `batches` records the size of every embed_ids call; clear `open` to hold the worker thread.
    `calls` records ("tokenize", texts) and ("embed", sequences) in order; clear
    `tokenize_open` to hold every tokenize call of more than one text.
    """

    def __init__(
        self,
        dimension: int = 16,
        max_seq_length: int = 16,
        vocab_size: int = 1000,
        prompts: dict[str, str] | None = None,
        version: int = 1,
    ) -> None:
        self.descriptor = ModelDescriptor(
            kind="embedder",
            architecture="fake",
            dimension=dimension,
            max_seq_length=max_seq_length,
            pooling="mean",
            prompts=prompts or {},
            query_prompt="query" if prompts and "query" in prompts else None,
            document_prompt="document" if prompts and "document" in prompts else None,
        )
        self.dimension = dimension
        self.max_seq_length = max_seq_length
        self.vocab_size = vocab_size
        self.model_name = "fake-model"
        self.version = version
        self.batches: list[int] = []
        self.releases = 0
        self.open = threading.Event()
        self.open.set()
        self.calls: list[tuple[str, int]] = []
        self.tokenize_open = threading.Event()
        self.tokenize_open.set()
        self._table = np.random.default_rng(version - 1).standard_normal((vocab_size, dimension))

    def token_id(self, word: str) -> int:
        return 200 + zlib.crc32(word.encode()) % (self.vocab_size - 200)

    def prompt(self, input_type: str | None = None, prompt_name: str | None = None) -> str:
        try:
            return self.descriptor.prompt_text(input_type, prompt_name)
        except ValueError as exc:
            raise InputError(str(exc)) from exc

    def tokenize(
        self, texts: list[str], *, truncate: bool = True, prompt: str = ""
    ) -> list[list[int]]:
        self.calls.append(("tokenize", len(texts)))
        if len(texts) > 1:
            self.tokenize_open.wait(timeout=10)
        result = []
        for text in texts:
            ids = [CLS, *(self.token_id(word) for word in (prompt + text).split()), SEP]
            if len(ids) > self.max_seq_length:
                if not truncate:
                    raise InputError(f"text of {len(ids)} tokens is over {self.max_seq_length}")
                ids = [*ids[: self.max_seq_length - 1], SEP]
            result.append(ids)
        return result

    def embed_ids(self, ids: list[list[int]], batch_size: int = 32) -> NDArray[np.float32]:
        self.batches.append(len(ids))
        self.calls.append(("embed", len(ids)))
        self.open.wait(timeout=10)
        vectors = np.stack([self._table[sequence].sum(axis=0) for sequence in ids])
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors.astype(np.float32)

    def release_memory(self) -> None:
        self.releases += 1

    def embed(self, texts: list[str], batch_size: int = 32) -> NDArray[np.float32]:
        return self.embed_ids(self.tokenize(texts), batch_size)


@dataclass(frozen=True)
class FakePair:
    """A fake reranker's tokenized pair: the query's words and the document's."""

    query: frozenset[str]
    document: tuple[str, ...]

    def __len__(self) -> int:
        return 3 + len(self.query) + len(self.document)


class FakeReranker:
    """Meets edgembed.server.protocol.Reranker: a pair scores by the share of the query's
    words the document holds, through a sigmoid (so scores order like word overlap)."""

    def __init__(self, max_seq_length: int = 64) -> None:
        self.max_seq_length = max_seq_length
        self.model_name = "fake-reranker"
        self.descriptor = ModelDescriptor(
            kind="reranker", architecture="fake", dimension=1,
            max_seq_length=max_seq_length, activation="sigmoid",
        )  # fmt: skip
        self.batches: list[int] = []

    def tokenize_pairs(
        self, query: str, documents: Sequence[str], *, truncate: bool = True
    ) -> list[FakePair]:
        words = frozenset(query.lower().split())
        pairs = []
        for index, document in enumerate(documents):
            pair = FakePair(words, tuple(document.lower().split()))
            if len(pair) > self.max_seq_length:
                if not truncate:
                    raise InputError(f"document {index} with the query is {len(pair)} tokens")
                pair = FakePair(words, pair.document[: self.max_seq_length - 3 - len(words)])
            pairs.append(pair)
        return pairs

    def embed_ids(self, ids: list[FakePair], batch_size: int = 32) -> NDArray[np.float32]:
        self.batches.append(len(ids))
        overlap = [len(p.query & set(p.document)) / max(len(p.query), 1) for p in ids]
        return (1 / (1 + np.exp(-(np.asarray(overlap) * 8 - 4))))[:, None].astype(np.float32)

    def release_memory(self) -> None:
        pass
