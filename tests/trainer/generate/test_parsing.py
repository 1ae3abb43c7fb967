from __future__ import annotations

import pytest

from edgembed.trainer.generate.parsing import parse_items

Q1 = "How many PTO days can I carry over?"
Q2 = "When must carried-over days be used?"


@pytest.mark.parametrize(
    "answer",
    [
        '{"questions": ["How many PTO days can I carry over?", "When must carried-over days be '
        'used?"]}',
        # Llama-style chatter around a fenced block
        'Sure! Here are two questions based on the passage:\n\n```json\n{\n  "questions": [\n'
        '    "How many PTO days can I carry over?",\n    "When must carried-over days be used?"'
        "\n  ]\n}\n```\n\nLet me know if you need more!",
        # a bare list, and objects with answers the prompt never asked for
        '["How many PTO days can I carry over?", "When must carried-over days be used?"]',
        '{"questions": [{"question": "How many PTO days can I carry over?", "answer": "5"}, '
        '{"question": "When must carried-over days be used?", "answer": "By March 31"}]}',
        # renamed keys that small models invent
        '{"question1": "How many PTO days can I carry over?", "question2": "When must '
        'carried-over days be used?"}',
        '{"result": {"items": ["How many PTO days can I carry over?", "When must carried-over '
        'days be used?"]}}',
        # plain lists of every style
        "Here are some questions:\n1. How many PTO days can I carry over?\n2. When must "
        "carried-over days be used?",
        "1) **How many PTO days can I carry over?**\n2) **When must carried-over days be used?**",
        "- How many PTO days can I carry over?\n- When must carried-over days be used?\n",
        '• "How many PTO days can I carry over?"\n• "When must carried-over days be used?"',
        "Q1: How many PTO days can I carry over?\nA: Up to 5 days.\nQ2: When must carried-over "
        "days be used?\nA: By March 31.",
        "Question 1: How many PTO days can I carry over? Answer: up to five days.\n"
        "Question 2: When must carried-over days be used? Answer: by March 31.",
        # no markers at all, chatter around question lines
        "Based on the passage, a user might ask:\nHow many PTO days can I carry over?\n"
        "When must carried-over days be used?\nI hope these help.",
        # broken JSON that still has a usable list inside
        'Output: {"questions": ["How many PTO days can I carry over?", "When must carried-over '
        'days be used?"]} (2 questions)',
    ],
)
def test_messy_answers_give_the_same_questions(answer: str) -> None:
    parsed = parse_items(answer, "questions")
    assert parsed.status == "ok"
    assert parsed.items == (Q1, Q2)


def test_paraphrase_key() -> None:
    parsed = parse_items('{"paraphrases": ["Can I keep unused PTO?"]}', "paraphrases")
    assert parsed.items == ("Can I keep unused PTO?",)


@pytest.mark.parametrize(
    "answer",
    [
        "I'm sorry, but I can't help with that request.",
        "As an AI language model, I cannot generate questions about this content.",
        '{"questions": [], "note": "I am unable to create questions for this passage."}',
    ],
)
def test_refusals_are_recognised(answer: str) -> None:
    parsed = parse_items(answer, "questions")
    assert parsed.status == "refusal" and parsed.items == ()


@pytest.mark.parametrize(
    "answer",
    ["", "   ", "{}", '{"questions": []}', "{{{{{", "The passage is about paid time off."],
)
def test_garbage_is_unparseable(answer: str) -> None:
    parsed = parse_items(answer, "questions")
    assert parsed.status == "unparseable" and parsed.items == ()


def test_items_keep_order_and_skip_empty_strings() -> None:
    parsed = parse_items('{"questions": ["B?", "", "  ", "A?"]}', "questions")
    assert parsed.items == ("B?", "A?")


def test_json_cut_off_by_the_token_limit_keeps_its_complete_questions() -> None:
    answer = '{"questions": ["How many PTO days can I carry over?", "When must carried-over days '
    answer += 'be used?", "Who approves excep'
    assert parse_items(answer, "questions").items == (Q1, Q2)
    escaped = '{"questions": ["What is the \\"close period\\" for PTO?", "Why'
    assert parse_items(escaped, "questions").items == ('What is the "close period" for PTO?',)
