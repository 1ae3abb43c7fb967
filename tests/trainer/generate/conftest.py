"""Fixtures for the generate stage: a small real document folder and scripted generators."""

from __future__ import annotations

import random
import shutil
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from edgembed.config import ChunkConfig, GenerateConfig
from edgembed.corpus import Chunk
from edgembed.trainer.generate import GENERATORS, GenerateSummary, Generation, QuestionGenerator
from edgembed.trainer.generate.base import AnswerShape, Candidate
from edgembed.trainer.generate.llm import LLMQuestionGenerator
from edgembed.workspace import Workspace
from tests.conftest import SAMPLE_DOCS
from tests.trainer.generate.fake_llm import scripted_reply

DOC_NAMES = ("pto_policy.md", "code_of_conduct.md", "social_media_policy.txt")


@pytest.fixture()
def docs(tmp_path: Path) -> Path:
    """Three real policy documents (21 chunks at --chunk-words 150)."""
    folder = tmp_path / "docs"
    folder.mkdir()
    for name in DOC_NAMES:
        shutil.copy(SAMPLE_DOCS / name, folder / name)
    return folder


@pytest.fixture()
def workspace(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "ws")


def make_config(docs: Path, chunk_words: int = 150, **options: object) -> GenerateConfig:
    """A GenerateConfig over `docs`; small chunks by default, so that tests have ~20 of them."""
    chunk = ChunkConfig(docs=docs, chunk_words=chunk_words, overlap_words=20)
    return GenerateConfig(chunk=chunk, **options)  # type: ignore[arg-type]


class ScriptedGenerator:
    """A QuestionGenerator whose answers a test decides; counts calls per chunk id.

    Args:
        answer: chunk -> queries; default: three distinct questions naming the chunk.
        fail_on_call: raise this error on the n-th call (1-based), as a dying LLM would.
        parallel: whether the runner may call it from threads.
    """

    name = "scripted"
    model = "script-1"

    def __init__(
        self,
        answer: Callable[[Chunk], Sequence[str]] | None = None,
        fail_on_call: tuple[int, Exception] | None = None,
        parallel: bool = False,
    ) -> None:
        self.answer = answer or (
            lambda c: [f"What does section {c.id} say about {w}?" for w in "abc"]
        )
        self.fail_on_call = fail_on_call
        self.parallel = parallel
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def check(self) -> None:
        pass

    def generate(self, chunk: Chunk, count: int, rng: random.Random) -> Generation:
        with self._lock:
            self.calls.append(chunk.id)
            n = len(self.calls)
        if self.fail_on_call and n == self.fail_on_call[0]:
            raise self.fail_on_call[1]
        queries = list(self.answer(chunk))[:count]
        return Generation(tuple(Candidate(q, "question", chunk.text) for q in queries))


class ScriptedChat:
    """A ChatBackend answering like a well-behaved LLM (see fake_llm.scripted_reply)."""

    name = "scripted-chat"
    model = "chat-1"
    parallel = True

    def __init__(self, reply: Callable[[str], str] = scripted_reply) -> None:
        self.reply = reply
        self.prompts: list[str] = []

    def check(self) -> None:
        pass

    def chat(self, system: str, user: str, shape: AnswerShape) -> str:
        self.prompts.append(user)
        return self.reply(user)


@pytest.fixture()
def use_generator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[object], str]]:
    """Register a generator object under a name for the runner; returns the name."""

    def register(generator: object) -> str:
        monkeypatch.setitem(GENERATORS, "scripted", lambda config, chunks: generator)
        return "scripted"

    yield register


_LLM_ONLY_REASONS = (
    "unparseable",
    "refusal",
    "not_a_question",
    "placeholder",
    "too_short",
    "too_long",
)


def llm_verdicts(summary: GenerateSummary) -> int:
    """LLM questions kept, plus LLM output rejected for reasons only LLM output can have."""
    rejected = sum(summary.dropped.get(reason, 0) for reason in _LLM_ONLY_REASONS)
    return summary.kinds.get("question", 0) + summary.dropped.get("copies_passage", 0) + rejected


def llm_generator(chat: ScriptedChat | None = None) -> QuestionGenerator:
    return LLMQuestionGenerator(chat or ScriptedChat())
