"""Quality filters for generated queries: each rejection is counted under its reason.

Questions from small LLMs fail in known ways: a statement instead of a question, a sentence of
the passage with a question mark glued on, the same question twice in other words, one word,
a paragraph, or the prompt's own placeholder ("...?") echoed with words after it. ICT queries
are sentences of the passage by design, so only the duplicate checks apply to them.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgembed.corpus.sentences import normalize_query
from edgembed.trainer.generate.base import Candidate

__all__ = [
    "COPIES_PASSAGE",
    "DUPLICATE",
    "NEAR_DUPLICATE",
    "NOT_A_QUESTION",
    "PLACEHOLDER",
    "TOO_LONG",
    "TOO_SHORT",
    "ChunkFilter",
    "FilterRules",
]

NOT_A_QUESTION = "not_a_question"
PLACEHOLDER = "placeholder"
TOO_SHORT = "too_short"
TOO_LONG = "too_long"
COPIES_PASSAGE = "copies_passage"
DUPLICATE = "duplicate"
NEAR_DUPLICATE = "near_duplicate"

_INTERROGATIVES = frozenset(
    "what whats what's how when where who whom whose why which can could do does did is are "
    "am was were should shall may might will would has have had must if".split()
)


@dataclass(frozen=True)
class FilterRules:
    """Thresholds of the filters.

    Attributes:
        min_words, max_words: question length bounds, in words.
        near_duplicate: word-set Jaccard similarity at or above which two queries of one
            chunk count as the same query.
        copy_fraction: a question whose longest run of words found verbatim in the passage
            covers this share of its words is a copy of the passage.
    """

    min_words: int = 3
    max_words: int = 40
    near_duplicate: float = 0.8
    copy_fraction: float = 0.8


class ChunkFilter:
    """Judges the candidates of one chunk in turn, remembering those it admitted."""

    def __init__(self, passage: str, rules: FilterRules | None = None) -> None:
        self._passage = f" {normalize_query(passage)} "
        self._rules = rules or FilterRules()
        self._seen: list[tuple[str, frozenset[str]]] = []

    def judge(self, candidate: Candidate) -> str | None:
        """Return why `candidate` is rejected, or None (and remember it) when it is admitted."""
        normalized = normalize_query(candidate.query)
        reason = self._duplicate(normalized)
        if reason is None and candidate.kind != "ict":
            reason = self._question_reason(candidate.query, normalized)
        if reason is None:
            self._seen.append((normalized, frozenset(normalized.split())))
        return reason

    def _duplicate(self, normalized: str) -> str | None:
        words = frozenset(normalized.split())
        for seen, seen_words in self._seen:
            if normalized == seen:
                return DUPLICATE
            union = len(words | seen_words)
            if union and len(words & seen_words) / union >= self._rules.near_duplicate:
                return NEAR_DUPLICATE
        return None

    def _question_reason(self, query: str, normalized: str) -> str | None:
        words = normalized.split()
        if query.lstrip().startswith(("...", "\u2026")):
            return PLACEHOLDER
        if len(words) < self._rules.min_words:
            return TOO_SHORT
        if len(words) > self._rules.max_words:
            return TOO_LONG
        if not query.rstrip().endswith("?") and words[0] not in _INTERROGATIVES:
            return NOT_A_QUESTION
        if _longest_copied_run(words, self._passage) >= self._rules.copy_fraction * len(words):
            return COPIES_PASSAGE
        return None


def _longest_copied_run(words: list[str], passage: str) -> int:
    """Length of the longest run of consecutive `words` that appears verbatim in `passage`."""
    best = 0
    for start in range(len(words)):
        stop = start + best + 1
        while stop <= len(words) and f" {' '.join(words[start:stop])} " in passage:
            best = stop - start
            stop += 1
    return best
