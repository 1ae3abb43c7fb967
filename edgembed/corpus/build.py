"""Documents folder -> chunks.jsonl: the one way both `chunk` and `generate` build the corpus.

Both stages load with `load_corpus` (so they leave out the same files) and write with
`write_corpus`; `generate` writes only once it knows it will run.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

from edgembed.config import ChunkConfig
from edgembed.corpus.chunker import Chunk, chunk_documents
from edgembed.corpus.document import Document
from edgembed.corpus.loaders import iter_documents, no_documents
from edgembed.corpus.store import write_chunks
from edgembed.errors import InputError
from edgembed.workspace import QUESTIONS_FILE, Workspace

__all__ = ["EXCLUDED_FILES", "Corpus", "build_corpus", "load_corpus", "write_corpus"]

EXCLUDED_FILES = frozenset({QUESTIONS_FILE})
"""Never training material: questions.jsonl holds the real questions that evaluation uses."""


@dataclass(frozen=True)
class Corpus:
    """The chunked documents: how many were read, which were skipped and why, the chunks."""

    documents: int
    skipped: tuple[tuple[str, str], ...]
    chunks: tuple[Chunk, ...]

    @property
    def words_per_chunk(self) -> tuple[int, float, int]:
        """Minimum, mean and maximum words per chunk."""
        words = [chunk.words for chunk in self.chunks]
        return min(words), statistics.fmean(words), max(words)


def load_corpus(config: ChunkConfig) -> Corpus:
    """Load and chunk the documents, leaving out the real-question set.

    Raises:
        InputError: DOCS is missing or is the questions file itself.
        NoDocumentsError: nothing readable is left.
    """
    if config.docs.name in EXCLUDED_FILES and not config.docs.is_dir():
        raise InputError(
            f"{config.docs} holds the real evaluation questions; edgembed never trains on "
            "them. Point it at your documents folder."
        )
    # One document at a time from its file to its chunks: a document's parsed blocks are let
    # go once it is chunked (all of them at once took 1.5 GiB at 12,667 documents).
    found: list[tuple[str, str]] = []
    read = 0

    def documents() -> Iterator[Document]:
        nonlocal read
        for document in iter_documents(config.docs, found):
            if PurePosixPath(document.path).name not in EXCLUDED_FILES:
                read += 1
                yield document

    chunks = tuple(chunk_documents(documents(), config))
    skipped = tuple(s for s in found if PurePosixPath(s[0]).name not in EXCLUDED_FILES)
    if not read:
        raise no_documents(config.docs, skipped)
    return Corpus(read, skipped, chunks)


def write_corpus(corpus: Corpus, workspace: Workspace) -> None:
    """Write the workspace's chunks.jsonl, atomically."""
    write_chunks(workspace.chunks, corpus.chunks)


def build_corpus(config: ChunkConfig, workspace: Workspace) -> Corpus:
    """Load and chunk the documents, then write the workspace's chunks.jsonl.

    Raises:
        InputError: the documents folder is missing or is the questions file.
        NoDocumentsError: it holds nothing readable.
    """
    corpus = load_corpus(config)
    write_corpus(corpus, workspace)
    return corpus
