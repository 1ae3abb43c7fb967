"""Questions and paraphrases from any chat LLM: prompts out, parsed lists back."""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Sequence

from edgembed.corpus import Chunk
from edgembed.formats.pairs import PairKind
from edgembed.trainer.generate.base import AnswerShape, Candidate, ChatBackend, Generation
from edgembed.trainer.generate.parsing import ParsedItems, parse_items
from edgembed.trainer.generate.prompts import (
    PARAPHRASE_KEY,
    QUESTION_KEY,
    SYSTEM,
    paraphrase_prompt,
    question_prompt,
)

__all__ = ["LLMQuestionGenerator"]

log = logging.getLogger(__name__)


class LLMQuestionGenerator:
    """A `QuestionGenerator` and `Paraphraser` on top of any `ChatBackend`.

    An answer that cannot be parsed is asked for once more (sampling makes a second answer
    differ); a refusal is not, since the same passage gets the same refusal.
    """

    def __init__(self, backend: ChatBackend) -> None:
        self._backend = backend

    @property
    def name(self) -> str:
        return self._backend.name

    @property
    def model(self) -> str:
        return self._backend.model

    @property
    def parallel(self) -> bool:
        return self._backend.parallel

    def check(self) -> None:
        """Check that the backend's LLM is reachable and has its model."""
        self._backend.check()

    def generate(self, chunk: Chunk, count: int, rng: random.Random) -> Generation:
        """Ask for `count` questions that `chunk` answers."""
        return self._ask(question_prompt(chunk, count), QUESTION_KEY, "question", count, chunk)

    def paraphrase(self, chunk: Chunk, questions: Sequence[str], count: int) -> Generation:
        """Ask for `count` rewordings of each of `chunk`'s questions."""
        prompt = paraphrase_prompt(questions, count)
        return self._ask(prompt, PARAPHRASE_KEY, "paraphrase", count * len(questions), chunk)

    def _ask(self, prompt: str, key: str, kind: PairKind, limit: int, chunk: Chunk) -> Generation:
        dropped: Counter[str] = Counter()
        parsed = ParsedItems((), "unparseable")
        for _ in range(2):
            raw = self._backend.chat(SYSTEM, prompt, AnswerShape(key, limit))
            parsed = parse_items(raw, key)
            if parsed.status == "ok":
                break
            log.info("%s answer for chunk %s (%s): %.300r", kind, chunk.id, parsed.status, raw)
            if parsed.status == "refusal":
                dropped["refusal"] += 1
                break
            dropped["unparseable"] += 1
        candidates = tuple(Candidate(item, kind, chunk.text) for item in parsed.items[:limit])
        return Generation(candidates, dict(dropped))
