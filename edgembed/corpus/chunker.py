"""Cut documents into passages of about `chunk_words` words.

Chunks end at paragraph boundaries, prefer to end before a top-level heading, and repeat a
little of the previous chunk when a long section has to be cut. Each chunk's text starts with a
breadcrumb line (document title > section) so that a passage read alone still says what it is
about; the embedding sees it, which helps retrieval on passages like "Eligibility".
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from edgembed.config import ChunkConfig
from edgembed.corpus.document import Document

__all__ = ["Chunk", "breadcrumb", "chunk_document", "chunk_documents", "chunk_id"]

_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+(?=[\"'(\[]?[A-Z0-9])")


@dataclass(frozen=True, slots=True)
class Chunk:
    """A passage of a document: the unit that is embedded, retrieved and trained on.

    Attributes:
        id: stable id, a hash of the document path and the text.
        doc: document path relative to the documents folder.
        title: the document's title.
        section: the heading path of the chunk's first paragraph, joined by " > ".
        text: the passage, starting with its breadcrumb line (see `breadcrumb`) unless the
            document has neither a title nor a section.
        words: number of words in `text`.
        position: index of the chunk within its document.
    """

    id: str
    doc: str
    title: str
    section: str
    text: str
    words: int
    position: int

    @property
    def head(self) -> str:
        """The breadcrumb line the text starts with, or "" when it has none."""
        head = breadcrumb(self.title, self.section)
        return head if head and self.text.startswith(head + "\n") else ""

    @property
    def body(self) -> str:
        """The passage without its breadcrumb line."""
        head = self.head
        return self.text[len(head) + 1 :] if head else self.text

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> Chunk:
        # A document's path, title and sections repeat over its chunks: one string for each
        # (100,000 passages held by `serve --corpus` took 380 MiB with a copy per chunk).
        fields = {name: row[name] for name in cls.__dataclass_fields__}
        for name in ("doc", "title", "section"):
            if isinstance(fields[name], str):
                fields[name] = sys.intern(fields[name])
        return cls(**fields)


def breadcrumb(title: str, section: str) -> str:
    """A chunk's first line: "title > section", either alone, or "" when both are empty."""
    return " > ".join(part for part in (title, section) if part)


def chunk_id(doc: str, text: str) -> str:
    """A stable id: the same document path and text always give the same id."""
    return hashlib.sha256(f"{doc}\n{text}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class _Unit:
    path: tuple[str, ...]
    text: str
    heading_level: int  # 0 for a paragraph

    @property
    def words(self) -> int:
        return len(self.text.split())


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(text) if s.strip()]


def _split_long(text: str, limit: int) -> list[str]:
    """Split a paragraph longer than `limit` words at sentence ends (or hard, if it must)."""
    if len(text.split()) <= limit:
        return [text]
    pieces: list[str] = []
    current: list[str] = []
    for sentence in _sentences(text):
        words = sentence.split()
        while len(words) > limit:  # one enormous "sentence": cut it hard
            pieces.append(" ".join(words[:limit]))
            words = words[limit:]
        if current and len(" ".join(current).split()) + len(words) > limit:
            pieces.append(" ".join(current))
            current = []
        if words:
            current.append(" ".join(words))
    if current:
        pieces.append(" ".join(current))
    return pieces


def _units(document: Document, limit: int) -> list[_Unit]:
    stack: list[tuple[int, str]] = []
    units: list[_Unit] = []
    for block in document.blocks:
        if block.kind == "heading":
            stack = [(lvl, txt) for lvl, txt in stack if lvl < block.level] + [
                (block.level, block.text)
            ]
            path = tuple(txt for _, txt in stack if txt != document.title)
            if block.text != document.title:
                units.append(_Unit(path, block.text, block.level))
        else:
            path = tuple(txt for _, txt in stack if txt != document.title)
            units.extend(_Unit(path, piece, 0) for piece in _split_long(block.text, limit))
    return units


def _overlap(units: list[_Unit], budget: int) -> list[_Unit]:
    """The last sentences of the last paragraph, up to `budget` words."""
    body = [u for u in units if not u.heading_level]
    if not body or budget <= 0:
        return []
    last = body[-1]
    kept: list[str] = []
    for sentence in reversed(_sentences(last.text)):
        if len(" ".join([sentence, *kept]).split()) > budget:
            break
        kept.insert(0, sentence)
    return [_Unit(last.path, " ".join(kept), 0)] if kept else []


def _pack(units: list[_Unit], config: ChunkConfig) -> list[list[_Unit]]:
    groups: list[list[_Unit]] = []
    current: list[_Unit] = []
    size = 0
    for unit in units:
        top_heading = 0 < unit.heading_level <= 2
        full = size + unit.words > config.chunk_words
        early_break = top_heading and size >= 0.6 * config.chunk_words
        if current and size >= config.min_words and (full or early_break):
            trailing: list[_Unit] = []
            while current and current[-1].heading_level:  # a heading goes with its body
                trailing.insert(0, current.pop())
            groups.append(current)
            carry = [] if top_heading or trailing else _overlap(current, config.overlap_words)
            current = carry + trailing
            size = sum(u.words for u in current)
        current.append(unit)
        size += unit.words
    if current:
        if groups and size < config.min_words:
            groups[-1].extend(current)
        else:
            groups.append(current)
    return groups


def chunk_document(document: Document, config: ChunkConfig) -> list[Chunk]:
    """Cut one document into chunks."""
    chunks: list[Chunk] = []
    for group in _pack(_units(document, config.chunk_words), config):
        if not any(not u.heading_level for u in group):
            continue
        first = next(u for u in group if not u.heading_level)
        section = " > ".join(first.path)
        body = "\n".join(u.text for u in group)
        head = breadcrumb(document.title, section)
        text = f"{head}\n{body}" if head else body
        chunks.append(
            Chunk(
                id=chunk_id(document.path, text),
                doc=document.path,
                title=document.title,
                section=section,
                text=text,
                words=len(text.split()),
                position=len(chunks),
            )
        )
    return chunks


def chunk_documents(documents: Iterable[Document], config: ChunkConfig) -> list[Chunk]:
    """Chunk every document, dropping exact duplicate chunks (same document, same text)."""
    seen: set[str] = set()
    chunks: list[Chunk] = []
    for document in documents:
        for chunk in chunk_document(document, config):
            if chunk.id not in seen:
                seen.add(chunk.id)
                chunks.append(chunk)
    return chunks
