"""The parsed form of a document: a title and a flat list of headings and paragraphs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Block", "Document"]


@dataclass(frozen=True)
class Block:
    """A heading (level 1-6) or a paragraph (level 0) of a document."""

    kind: Literal["heading", "paragraph"]
    text: str
    level: int = 0


@dataclass(frozen=True)
class Document:
    """A loaded document.

    Attributes:
        path: the path relative to the documents folder, with forward slashes; it names the
            document in chunks, pairs and questions files.
        title: the document's title (first heading, HTML title, or the file name).
        blocks: headings and paragraphs in reading order.
    """

    path: str
    title: str
    blocks: tuple[Block, ...] = field(default_factory=tuple)

    @property
    def words(self) -> int:
        return sum(len(block.text.split()) for block in self.blocks)
