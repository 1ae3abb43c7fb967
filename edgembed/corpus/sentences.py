"""Sentences of a chunk's body: splitting, the ones shared between chunks, taking some out.

Shared by `generate` (inverse-cloze queries are sentences taken out of their passage) and by
the retrieval tasks that score eval pairs against passages without those sentences
(`edgembed.evaluation.task`). Also the query normaliser that tells duplicate queries apart.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable

from edgembed.corpus.chunker import Chunk

__all__ = ["body_sentences", "normalize_query", "shared_sentences", "strip_sentences"]

# A sentence ends at . ! ? before a capital; also at ; before a capital list item ("- Item").
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+(?=(?:[-*•]\s+)?[\"'(\[]?[A-Z0-9])")
_NON_WORD = re.compile(r"[^a-z0-9]+")


def normalize_query(text: str) -> str:
    """Lower case, punctuation gone, single spaces: equal for exact duplicates."""
    return _NON_WORD.sub(" ", text.lower()).strip()


def _is_heading(line: str) -> bool:
    words = line.split()
    if len(words) < 12 and not line.rstrip().endswith((".", "!", "?", ":", ";", ",")):
        return True
    return line.isupper()


def body_sentences(lines: list[str]) -> list[list[str]]:
    """The sentences of each line of a chunk's body; none for a heading."""
    return [[] if _is_heading(line) else _SENTENCE_END.split(line) for line in lines]


def shared_sentences(chunks: Iterable[Chunk]) -> frozenset[str]:
    """Sentences found in more than one chunk."""
    counts = Counter(
        s
        for chunk in chunks
        for s in {s for ss in body_sentences(chunk.body.split("\n")) for s in ss}
    )
    return frozenset(sentence for sentence, n in counts.items() if n > 1)


def strip_sentences(chunk: Chunk, drop: Callable[[str], bool]) -> str:
    """The chunk's text without the body sentences that `drop` picks (headings stay)."""
    head = chunk.head
    lines = chunk.body.split("\n")
    out = [head] if head else []
    for line, parts in zip(lines, body_sentences(lines), strict=True):
        kept = [part for part in parts if not drop(part)] if parts else [line]
        if kept:
            out.append(" ".join(kept))
    return "\n".join(out)
