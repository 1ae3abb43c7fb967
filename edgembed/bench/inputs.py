"""Latency inputs of exact token counts: texts that tokenize to exactly N tokens.

Every backend gets the same texts and tokenizes them itself, as a user's call would. The texts
are made of whole words from a fixed pool, so two runs time the same work; each text in a
batch starts at a different word so that no two rows are identical.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from edgembed.errors import InputError
from edgembed.evaluation.texts import BUILTIN_TEXTS

__all__ = ["QUICK_SHAPES", "SHAPES", "Shape", "exact_texts"]

Tokenize = Callable[[Sequence[str]], list[list[int]]]


@dataclass(frozen=True)
class Shape:
    """A batch of `batch` texts of exactly `tokens` tokens each (special tokens included)."""

    batch: int
    tokens: int

    @property
    def label(self) -> str:
        return f"{self.batch}x{self.tokens}"


SHAPES = (Shape(1, 16), Shape(1, 128), Shape(32, 128), Shape(32, 256))
QUICK_SHAPES = (Shape(1, 16), Shape(32, 128))


def _word_pool() -> list[str]:
    """Plain lowercase words, so each one's token count does not depend on its neighbours."""
    words = (word.strip(".,:;!?'\"()").lower() for text in BUILTIN_TEXTS for word in text.split())
    return [word for word in words if word.isascii() and word.isalpha()]


def exact_texts(tokenize: Tokenize, tokens: int, count: int) -> list[str]:
    """`count` different texts that each tokenize to exactly `tokens` tokens.

    Args:
        tokenize: the model's tokenizer (texts -> token ids, special tokens included, never
            truncating).
        tokens: the wanted length, special tokens included.
        count: how many texts.

    Raises:
        InputError: the tokenizer cannot reach that length with whole words (its special
            tokens alone are longer, or words do not add up), so the timings would be wrong.
    """
    overhead = len(tokenize([""])[0])
    if tokens <= overhead:
        raise InputError(f"{tokens} tokens is not more than the {overhead} special tokens")
    pool = _word_pool()
    costs = dict(zip(pool, (len(ids) - overhead for ids in tokenize(pool)), strict=True))
    filler = next((word for word in pool if costs[word] == 1), None)
    if filler is None:
        raise InputError("the tokenizer has no single-token word to pad texts with")
    texts = [_fill(pool, costs, filler, tokens - overhead, start=7 * row) for row in range(count)]
    lengths = {len(ids) for ids in tokenize(texts)}
    if lengths != {tokens}:
        raise InputError(
            f"texts built for {tokens} tokens tokenize to {sorted(lengths)}: this tokenizer "
            "does not count words independently, so exact-length inputs cannot be made"
        )
    return texts


def _fill(pool: Sequence[str], costs: dict[str, int], filler: str, budget: int, start: int) -> str:
    words: list[str] = []
    index = start
    while budget > 0:
        word = pool[index % len(pool)]
        index += 1
        if 0 < costs[word] <= budget:
            words.append(word)
            budget -= costs[word]
        elif costs[word] > budget:
            words.extend([filler] * budget)
            budget = 0
    return " ".join(words)
