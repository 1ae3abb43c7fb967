from __future__ import annotations

import random
import re

from edgembed.corpus import Chunk
from edgembed.corpus.sentences import shared_sentences
from edgembed.trainer.generate.ict import ICTGenerator

TEXT = "\n".join(
    [
        "PTO Policy > 5. Carry-Over",
        "5. Carry-Over",
        "You may carry over up to 5 days of unused PTO into the next calendar year. "
        "Carried-over PTO must be used by March 31 of the following year, or it is forfeited. "
        "Managers cannot approve exceptions to the carry-over limit without HR sign-off.",
        "Payout",
        "Unused PTO above the carry-over limit is not paid out, except where state law requires "
        "it. See it. Employees in California are paid for all accrued, unused PTO at termination.",
        "Every PIP includes:",
        "a description of the performance gaps, with specific examples;",
    ]
)
CHUNK = Chunk("c1", "pto.md", "PTO Policy", "5. Carry-Over", TEXT, len(TEXT.split()), 0)


def test_queries_are_informative_sentences_taken_out_of_the_passage() -> None:
    generation = ICTGenerator(keep_rate=0.0).generate(CHUNK, 3, random.Random(0))
    assert len(generation.candidates) == 3
    for candidate in generation.candidates:
        assert candidate.kind == "ict"
        assert candidate.query in TEXT  # a real sentence of the chunk...
        assert candidate.query not in candidate.positive  # ...taken out of its passage
        assert candidate.positive.startswith("PTO Policy > 5. Carry-Over\n")  # breadcrumb kept
        assert "Payout" in candidate.positive  # headings stay
        # never a heading, the breadcrumb, a list lead-in or a lower-case list fragment
        assert candidate.query not in {"5. Carry-Over", "Payout", "Every PIP includes:"}
        assert not candidate.query.startswith("a description")
        assert len(candidate.query.split()) >= 6
    assert len({c.query for c in generation.candidates}) == 3


def test_a_short_sentence_takes_the_next_one_along() -> None:
    short = "Laptops must be encrypted at rest."
    following = "IT checks this every quarter with an automated scan of each device."
    text = "\n".join(["Security", f"{short} {following}", TEXT.split("\n")[2]])
    chunk = Chunk("c4", "sec.md", "Security", "", text, len(text.split()), 0)
    queries = [
        c.query
        for c in ICTGenerator(keep_rate=0.0).generate(chunk, 10, random.Random(0)).candidates
    ]
    assert f"{short} {following}" in queries or following in queries
    assert short not in queries  # six words alone say too little


def test_keep_rate_leaves_the_sentence_in_sometimes() -> None:
    generator = ICTGenerator(keep_rate=0.1)
    kept = total = 0
    for seed in range(200):
        for candidate in generator.generate(CHUNK, 1, random.Random(seed)).candidates:
            total += 1
            kept += candidate.positive == TEXT
    assert total == 200
    assert 5 <= kept <= 40  # about 10%


def test_same_seed_same_queries_and_no_sentences_no_queries() -> None:
    generator = ICTGenerator()
    first = generator.generate(CHUNK, 3, random.Random("42:c1"))
    again = generator.generate(CHUNK, 3, random.Random("42:c1"))
    assert first == again
    headings_only = Chunk("c2", "d.md", "D", "", "D\nOverview\nScope", 3, 0)
    assert generator.generate(headings_only, 3, random.Random(0)).candidates == ()


def test_queries_that_would_leave_too_little_passage_are_skipped() -> None:
    text = "Doc\nThe office is closed on public holidays listed in the calendar."
    chunk = Chunk("c3", "d.md", "Doc", "", text, len(text.split()), 0)
    assert ICTGenerator(keep_rate=0.0).generate(chunk, 3, random.Random(0)).candidates == ()


def test_sentences_other_chunks_hold_too_are_never_queries() -> None:
    repeated = (
        "Carried-over PTO must be used by March 31 of the following year, or it is forfeited."
    )
    other = Chunk("c5", "pto.md", "PTO Policy", "", f"PTO Policy\n{repeated} Ask HR.", 20, 1)
    shared = shared_sentences([CHUNK, other])
    assert shared == {repeated}
    generator = ICTGenerator(keep_rate=0.0, shared=shared)
    for seed in range(30):
        queries = [c.query for c in generator.generate(CHUNK, 5, random.Random(seed)).candidates]
        assert queries and not any(repeated in query for query in queries)


def test_keyword_queries_are_a_sentences_rarest_words_in_order() -> None:
    other = Chunk("c2", "travel.md", "Travel", "", "Travel\nYou may book flights.", 5, 0)
    generator = ICTGenerator.for_corpus([CHUNK, other], keyword_rate=1.0)
    generator.keep_rate = 0.0
    candidates = generator.generate(CHUNK, 3, random.Random(0)).candidates
    assert len(candidates) == 3
    for candidate in candidates:
        words = candidate.query.split()
        assert 2 <= len(words) <= 5 and candidate.query not in TEXT.split("\n")
        assert "may" not in words  # a stopword, and in both chunks
        # the words come in the order of one sentence of the chunk
        sentences = [re.findall(r"[A-Za-z][A-Za-z'-]+", line) for line in TEXT.split("\n")]
        assert any(_in_order(words, sentence) for sentence in sentences)


def _in_order(words: list[str], sentence: list[str]) -> bool:
    rest = iter(sentence)
    return all(word in rest for word in words)


def test_a_chunk_without_breadcrumb_line_gives_queries_from_its_first_line() -> None:
    body = TEXT.split("\n", 1)[1]
    bare = Chunk("c3", "p28.txt", "", "", body, len(body.split()), 0)
    candidates = ICTGenerator(keep_rate=0.0).generate(bare, 6, random.Random(0)).candidates
    assert candidates and all(c.positive.split("\n")[0] == "5. Carry-Over" for c in candidates)
