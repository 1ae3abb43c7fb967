"""Inverse cloze task (ICT): training queries without any LLM.

A sentence (or two short ones) of the chunk becomes the query and the rest of the chunk the
passage, as in Lee et al., 2019 ("Latent Retrieval for Weakly Supervised Open Domain QA"). The
sentence stays in the passage a small part of the time (10% by default, as in the paper), so
the model also learns that word overlap is a signal, without learning that it is the only one.
Sentences are drawn in proportion to how informative they look (distinct content words), never
headings, never the breadcrumb line, never fragments too short to mean anything, and never a
sentence that also appears in another chunk (the chunker's overlap, boilerplate): such a query
would have two right answers.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from edgembed.corpus import Chunk
from edgembed.corpus.sentences import body_sentences, shared_sentences
from edgembed.trainer.generate.base import Candidate, Generation

__all__ = ["ICTGenerator", "term_weights"]

_BULLET = re.compile(r"^[-*•]\s+")
_STARTS_WELL = re.compile(r"^[\"'(\[]?[A-Z0-9]")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")
_STOPWORDS = frozenset(
    "the and for are but not you your all any can had has have her was one our out his how "
    "its may who did get him she too use that with this from they will would there their what "
    "about which when make like than then them been into more some such only other also each "
    "must should could does were where while these those under over after before being".split()
)


@dataclass(frozen=True)
class _Span:
    """One or two consecutive sentences of one line of the chunk."""

    line: int
    start: int
    stop: int
    text: str


def term_weights(chunks: Sequence[Chunk]) -> dict[str, float]:
    """Inverse document frequency of each content word over the chunks (rarer: higher)."""
    frequency = Counter(word for chunk in chunks for word in _content_words(chunk.body))
    total = max(len(chunks), 1)
    return {word: math.log((1 + total) / (1 + n)) + 1.0 for word, n in frequency.items()}


def _content_words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text) if len(w) > 2 and w.lower() not in _STOPWORDS}


class ICTGenerator:
    """Inverse-cloze queries: informative sentences taken out of their passage.

    Args:
        keep_rate: how often the query sentence is left in the passage.
        keyword_rate: how often the query is the sentence's rarest words instead of the
            sentence (people often type a few keywords, not a sentence).
        min_words: shorter sentences are never queries (nor are headings).
        max_words: longer sentences are never queries.
        min_context_words: a query is skipped when taking it out would leave fewer words.
        shared: sentences never to use because other chunks hold them too (see
            `shared_sentences`).
        weights: how rare each word is in the corpus (see `term_weights`); keyword queries
            need it.
    """

    name = "ict"
    model = "none"
    parallel = False  # microseconds per chunk: threads would only add overhead

    def __init__(
        self,
        keep_rate: float = 0.1,
        keyword_rate: float = 0.0,
        min_words: int = 6,
        max_words: int = 60,
        min_context_words: int = 15,
        shared: frozenset[str] = frozenset(),
        weights: dict[str, float] | None = None,
    ) -> None:
        self.keep_rate = keep_rate
        self.keyword_rate = keyword_rate if weights else 0.0
        self.shared = shared
        self.weights = weights or {}
        self.min_words = min_words
        self.max_words = max_words
        self.min_context_words = min_context_words

    @classmethod
    def for_corpus(cls, chunks: Sequence[Chunk], keyword_rate: float = 0.0) -> ICTGenerator:
        """A generator that knows the corpus: its shared sentences and its word weights."""
        return cls(
            keyword_rate=keyword_rate,
            shared=shared_sentences(chunks),
            weights=term_weights(chunks),
        )

    def check(self) -> None:
        """ICT needs nothing: always ready."""

    def generate(self, chunk: Chunk, count: int, rng: random.Random) -> Generation:
        """Pick up to `count` sentences of `chunk` as queries, each with its own passage."""
        head = chunk.head
        lines = chunk.body.split("\n")
        sentences = body_sentences(lines)
        spans = self._spans(sentences)
        candidates: list[Candidate] = []
        used: set[tuple[int, int]] = set()
        for span in self._draw(spans, rng):
            if len(candidates) == count:
                break
            taken = {(span.line, i) for i in range(span.start, span.stop)}
            if taken & used:
                continue
            keep = rng.random() < self.keep_rate
            positive = chunk.text if keep else _without(head, lines, sentences, span)
            if len(positive.split()) - len(head.split()) < self.min_context_words:
                continue
            used |= taken
            query = span.text
            if rng.random() < self.keyword_rate:
                query = self._keywords(span.text, rng) or query
            candidates.append(Candidate(query, "ict", positive))
        return Generation(tuple(candidates))

    def _keywords(self, sentence: str, rng: random.Random) -> str:
        """Two to five of the sentence's rarest content words, in their order in it."""
        words: list[str] = []
        for word in _WORD.findall(sentence):
            if len(word) > 2 and word.lower() not in _STOPWORDS and word not in words:
                words.append(word)
        count = min(len(words), rng.randint(2, 5))
        if count < 2:
            return ""
        rarest = sorted(words, key=lambda w: -self.weights.get(w.lower(), 0.0))[:count]
        return " ".join(w for w in words if w in rarest)

    def _spans(self, sentences: list[list[str]]) -> list[_Span]:
        spans: list[_Span] = []
        for line, parts in enumerate(sentences):
            for start, sentence in enumerate(parts):
                if not self._usable(sentence):
                    continue
                stop = start + 1
                # "A sentence or two": a short sentence says little alone, so take the next too.
                if (
                    len(sentence.split()) < 10
                    and stop < len(parts)
                    and parts[stop] not in self.shared
                ):
                    joined = f"{sentence} {parts[stop]}"
                    if len(joined.split()) <= self.max_words:
                        sentence, stop = joined, stop + 1
                query = _BULLET.sub("", sentence).rstrip(";,").strip()
                spans.append(_Span(line, start, stop, query))
        return spans

    def _usable(self, sentence: str) -> bool:
        if sentence in self.shared:
            return False
        text = _BULLET.sub("", sentence)
        if not self.min_words <= len(text.split()) <= self.max_words:
            return False
        if text.rstrip().endswith(":") or text.isupper():
            return False  # the lead-in of a list, or a shouted heading
        if not _STARTS_WELL.match(text):
            return False  # a lower-case list item only makes sense after its lead-in
        return len(_WORD.findall(text)) >= 3

    def _draw(self, spans: list[_Span], rng: random.Random) -> list[_Span]:
        """All spans in a random order that favours informative ones (weighted, no repeats)."""
        keyed = [
            (rng.random() ** (1.0 / min(len(_content_words(s.text)) + 1, 16)), s) for s in spans
        ]
        return [span for _, span in sorted(keyed, key=lambda pair: pair[0], reverse=True)]


def _without(head: str, lines: list[str], sentences: list[list[str]], span: _Span) -> str:
    """The chunk text (breadcrumb line, if any, and body) with the span's sentences taken out."""
    out = [head] if head else []
    for index, line in enumerate(lines):
        if index != span.line:
            out.append(line)
            continue
        rest = " ".join(sentences[index][: span.start] + sentences[index][span.stop :])
        if rest:
            out.append(rest)
    return "\n".join(out)
