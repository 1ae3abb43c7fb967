from __future__ import annotations

from edgembed.corpus.sentences import normalize_query
from edgembed.trainer.generate.base import Candidate
from edgembed.trainer.generate.filters import ChunkFilter

PASSAGE = (
    "PTO Policy > Carry-Over\nYou may carry over up to 5 days of unused PTO into the next "
    "calendar year. Carried-over PTO must be used by March 31 of the following year."
)


def _judge(queries: list[str], kind: str = "question") -> list[str | None]:
    judge = ChunkFilter(PASSAGE)
    return [judge.judge(Candidate(q, kind, PASSAGE)) for q in queries]  # type: ignore[arg-type]


def test_good_questions_pass() -> None:
    assert _judge(
        [
            "How much unused vacation can I keep for next year?",
            "is there a deadline for using leftover days",
        ]
    ) == [None, None]


def test_each_failure_has_its_reason() -> None:
    reasons = _judge(
        [
            "How much unused vacation can I keep for next year?",
            "how much unused vacation can I keep for next year",  # same, other case/punctuation
            "How much unused vacation can I keep into next year?",  # near duplicate
            "The carry-over limit is five days.",  # a statement
            "PTO?",  # too short
            "What " + "very " * 45 + "long question is this?",  # too long
            "You may carry over up to 5 days of unused PTO into the next calendar year?",  # copy
            "...? Can I keep unused days?",  # the prompt's example echoed (SmolLM2 does)
        ]
    )
    assert reasons == [
        None,
        "duplicate",
        "near_duplicate",
        "not_a_question",
        "too_short",
        "too_long",
        "copies_passage",
        "placeholder",
    ]


def test_ict_queries_skip_question_rules_but_not_duplicates() -> None:
    sentence = "Carried-over PTO must be used by March 31 of the following year."
    assert _judge([sentence, sentence], kind="ict") == [None, "duplicate"]


def test_normalize_query() -> None:
    assert normalize_query("  What's   the PTO-limit?? ") == "what s the pto limit"
