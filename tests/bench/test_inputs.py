"""Exact-length latency inputs, checked with MiniLM's real tokenizer."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from edgembed.bench.inputs import SHAPES, Tokenize, exact_texts
from edgembed.errors import InputError
from edgembed.runtime.session import load_tokenizer


@pytest.fixture(scope="module")
def tokenize(bundled_minilm: Path) -> Tokenize:
    tokenizer = load_tokenizer(bundled_minilm / "tokenizer.json", None)

    def run(texts: Sequence[str]) -> list[list[int]]:
        return [encoding.ids for encoding in tokenizer.encode_batch(list(texts))]

    return run


@pytest.mark.parametrize("tokens", sorted({shape.tokens for shape in SHAPES} | {3, 17, 511}))
def test_texts_tokenize_to_exactly_the_wanted_length(tokenize: Tokenize, tokens: int) -> None:
    texts = exact_texts(tokenize, tokens, 32)
    assert [len(ids) for ids in tokenize(texts)] == [tokens] * 32
    if tokens >= 16:
        assert len(set(texts)) == 32  # rows differ


def test_texts_are_the_same_every_time(tokenize: Tokenize) -> None:
    assert exact_texts(tokenize, 128, 4) == exact_texts(tokenize, 128, 4)


def test_a_length_not_above_the_special_tokens_is_refused(tokenize: Tokenize) -> None:
    with pytest.raises(InputError, match="special tokens"):
        exact_texts(tokenize, 2, 1)


def test_a_tokenizer_whose_words_do_not_add_up_is_refused() -> None:
    def by_characters(texts: Sequence[str]) -> list[list[int]]:
        # words cost one token alone, but the whole text costs one token per character
        return [[0] * (len(t) if " " in t else 1 + bool(t)) for t in texts]

    with pytest.raises(InputError, match="does not count words independently"):
        exact_texts(by_characters, 16, 2)
