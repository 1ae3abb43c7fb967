"""The `chunk` stage: documents folder -> chunks.jsonl, with a summary.

`load_corpus` is also how `generate` reads the documents, so both stages leave out the same
files.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import PurePosixPath

from edgembed.config import ChunkConfig
from edgembed.corpus.chunker import Chunk, chunk_documents
from edgembed.corpus.loaders import load_documents
from edgembed.corpus.store import write_chunks
from edgembed.errors import InputError, NoDocumentsError
from edgembed.workspace import QUESTIONS_FILE, Workspace

__all__ = ["EXCLUDED_FILES", "ChunkSummary", "build_corpus", "load_corpus"]

EXCLUDED_FILES = frozenset({QUESTIONS_FILE})
"""Never training material: questions.jsonl holds the real questions that evaluation uses."""


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


def load_corpus(config: ChunkConfig) -> tuple[list[Chunk], int, tuple[tuple[str, str], ...]]:
    """Load and chunk the documents, leaving out the real-question set.

    Returns:
        (chunks, documents read, skipped files with their reason).

    Raises:
        InputError: DOCS is missing or is the questions file itself.
        NoDocumentsError: nothing readable is left.
    """
    if config.docs.name in EXCLUDED_FILES and not config.docs.is_dir():
        raise InputError(
            f"{config.docs} holds the real evaluation questions; edgembed never trains on "
            "them. Point it at your documents folder."
        )
    loaded = load_documents(config.docs)
    documents = [d for d in loaded.documents if PurePosixPath(d.path).name not in EXCLUDED_FILES]
    skipped = tuple(s for s in loaded.skipped if PurePosixPath(s[0]).name not in EXCLUDED_FILES)
    if not documents:
        raise NoDocumentsError(f"no readable documents in {config.docs}.")
    return chunk_documents(documents, config), len(documents), skipped


def build_corpus(config: ChunkConfig, workspace: Workspace) -> ChunkSummary:
    """Load and chunk the documents, then write the workspace's chunks.jsonl atomically.

    Raises:
        InputError: the documents folder is missing or is the questions file.
        NoDocumentsError: it holds nothing readable.
    """
    chunks, documents, skipped = load_corpus(config)
    write_chunks(workspace.chunks, chunks)
    return ChunkSummary(documents, skipped, tuple(chunks))
