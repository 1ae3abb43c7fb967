"""The protocol every question generator follows, and what it hands back.

A generator turns one chunk into candidate queries; the runner filters them, turns the
survivors into pairs and saves them. Adding a generator is one module that implements
`QuestionGenerator` (and `Paraphraser` if it can reword questions), plus one line in
`registry.py`. LLM generators only implement `ChatBackend`: `LLMQuestionGenerator` (llm.py)
wraps any backend with the prompts and the output parsing.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from edgembed.corpus import Chunk
from edgembed.formats.pairs import PairKind

__all__ = [
    "AnswerShape",
    "Candidate",
    "ChatBackend",
    "Generation",
    "Paraphraser",
    "QuestionGenerator",
    "Writer",
]


@dataclass(frozen=True)
class Candidate:
    """A query a generator proposes for a chunk, before filtering.

    Attributes:
        query: the query text.
        kind: how it was made.
        positive: the passage to pair it with (the chunk text, or for ICT the chunk text with
            the query sentence taken out).
    """

    query: str
    kind: PairKind
    positive: str


@dataclass(frozen=True)
class Generation:
    """What one generator call produced for one chunk.

    Attributes:
        candidates: the proposed queries, in the generator's order.
        dropped: answers the generator could not use, by reason (``unparseable``,
            ``refusal``), counted once per LLM answer.
    """

    candidates: tuple[Candidate, ...]
    dropped: Mapping[str, int] = field(default_factory=dict)


class Writer(Protocol):
    """What writes queries: a generator, or the LLM behind one."""

    @property
    def name(self) -> str:
        """The name given to --generator."""

    @property
    def model(self) -> str:
        """The model that writes the queries (``none`` when there is none; for servers that
        pick it, known after `check`)."""

    @property
    def parallel(self) -> bool:
        """Whether it may be called from several worker threads at once."""

    def check(self) -> None:
        """Fail early, before anything is written, when it cannot work.

        Raises:
            LLMUnavailableError: the LLM cannot be reached or lacks the model.
            MissingExtraError: a needed package is not installed.
        """


class QuestionGenerator(Writer, Protocol):
    """Makes candidate queries for chunks."""

    def generate(self, chunk: Chunk, count: int, rng: random.Random) -> Generation:
        """Propose up to `count` queries that `chunk` answers."""


@runtime_checkable
class Paraphraser(Protocol):
    """A generator that can also reword its questions (LLM generators)."""

    def paraphrase(self, chunk: Chunk, questions: Sequence[str], count: int) -> Generation:
        """Propose `count` rewordings of each of `chunk`'s questions."""


@dataclass(frozen=True)
class AnswerShape:
    """The answer a prompt asks for: a JSON object with up to `max_items` strings under `key`.

    Backends use it to bound the answer's length and, where they can, to constrain the output
    to this shape (llama.cpp turns the schema into a grammar), which keeps small models from
    rambling until the token limit.
    """

    key: str
    max_items: int

    @property
    def max_tokens(self) -> int:
        """A generous token budget: about 48 tokens per item plus the JSON around them."""
        return 64 + 48 * self.max_items

    def json_schema(self) -> dict[str, Any]:
        items = {"type": "string", "minLength": 8, "maxLength": 200}
        array = {"type": "array", "items": items, "minItems": 1, "maxItems": self.max_items}
        return {"type": "object", "properties": {self.key: array}, "required": [self.key]}


class ChatBackend(Writer, Protocol):
    """One LLM behind a chat API that answers in JSON."""

    def chat(self, system: str, user: str, shape: AnswerShape) -> str:
        """Send one system + user message and return the assistant's text (JSON of `shape`).

        Raises:
            LLMUnavailableError: the server went away or lost the model.
            GeneratorError: the server answered with another error.
        """
