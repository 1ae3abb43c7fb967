"""The `chunk` stage: documents folder -> chunks.jsonl, with a summary."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from edgembed.config import ChunkConfig, Workspace
from edgembed.corpus.chunker import Chunk, chunk_documents
from edgembed.corpus.loaders import load_documents
from edgembed.corpus.store import write_chunks

__all__ = ["ChunkSummary", "build_corpus"]


@dataclass(frozen=True)
class ChunkSummary:
    """What `build_corpus` read, skipped and wrote."""

    documents: int
    skipped: tuple[tuple[str, str], ...]
    chunks: tuple[Chunk, ...]

    @property
    def words_per_chunk(self) -> tuple[int, float, int]:
        """Minimum, mean and maximum words per chunk."""
        words = [chunk.words for chunk in self.chunks]
        return min(words), statistics.fmean(words), max(words)


def build_corpus(config: ChunkConfig, workspace: Workspace) -> ChunkSummary:
    """Load and chunk the documents, then write the workspace's chunks.jsonl atomically.

    Raises:
        InputError: the documents folder is missing or holds nothing readable.
    """
    loaded = load_documents(config.docs)
    chunks = chunk_documents(loaded.documents, config)
    write_chunks(workspace.chunks, chunks)
    return ChunkSummary(len(loaded.documents), loaded.skipped, tuple(chunks))
