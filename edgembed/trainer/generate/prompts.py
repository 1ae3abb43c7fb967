"""The prompts LLM generators send. JSON answers, with the key the parser looks for first."""

from __future__ import annotations

from collections.abc import Sequence

from edgembed.corpus import Chunk

__all__ = ["PARAPHRASE_KEY", "QUESTION_KEY", "SYSTEM", "paraphrase_prompt", "question_prompt"]

QUESTION_KEY = "questions"
PARAPHRASE_KEY = "paraphrases"

SYSTEM = (
    "You write realistic search queries to train a document search engine. "
    "You always answer with a single JSON object and nothing else."
)

# Real users ask short questions in their own words and do not know the passage; questions
# that copy its sentences teach the model word matching, which it already does well.
_QUESTION = """Passage from "{title}":
<passage>
{text}
</passage>

Write {count} different questions that someone searching these documents might type and that \
this passage answers.
Rules:
- Each question must be answerable from the passage alone.
- Ask in your own words, as someone who has not read the passage: do not copy its sentences.
- Each question asks about a different fact of the passage.
- Each question is one sentence of at most 25 words, ending with a question mark.
Answer with JSON: {{"{key}": ["...?", "...?"]}}"""

_PARAPHRASE = """Rewrite each of these questions {count} time(s) in different words, as a busy \
person would type them, keeping exactly the same meaning:
{numbered}

Answer with JSON: {{"{key}": ["...?", "...?"]}}"""


def question_prompt(chunk: Chunk, count: int) -> str:
    """The user message asking for `count` questions about `chunk`."""
    return _QUESTION.format(title=chunk.title, text=chunk.text, count=count, key=QUESTION_KEY)


def paraphrase_prompt(questions: Sequence[str], count: int) -> str:
    """The user message asking for `count` rewordings of each question."""
    numbered = "\n".join(f"{i}. {q}" for i, q in enumerate(questions, start=1))
    return _PARAPHRASE.format(count=count, numbered=numbered, key=PARAPHRASE_KEY)
