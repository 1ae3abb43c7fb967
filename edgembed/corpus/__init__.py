"""Documents in, chunks out: loaders for common formats and a structure-aware chunker."""

from edgembed.corpus.chunker import Chunk, breadcrumb, chunk_document, chunk_documents, chunk_id
from edgembed.corpus.document import Block, Document
from edgembed.corpus.loaders import LoadResult, load_document, load_documents
from edgembed.corpus.store import read_chunks, write_chunks

__all__ = [
    "Block",
    "Chunk",
    "Document",
    "breadcrumb",
    "LoadResult",
    "chunk_document",
    "chunk_documents",
    "chunk_id",
    "load_document",
    "load_documents",
    "read_chunks",
    "write_chunks",
]
