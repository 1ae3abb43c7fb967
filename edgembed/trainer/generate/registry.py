"""The generators `--generator` can name. Adding one: a module, and one line in GENERATORS."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from edgembed.config import GenerateConfig
from edgembed.corpus import Chunk
from edgembed.errors import ConfigError
from edgembed.trainer.generate.base import QuestionGenerator
from edgembed.trainer.generate.ict import ICTGenerator
from edgembed.trainer.generate.llm import LLMQuestionGenerator

__all__ = ["GENERATORS", "GeneratorFactory", "make_generator"]


def _ict(config: GenerateConfig, chunks: Sequence[Chunk]) -> QuestionGenerator:
    return ICTGenerator.for_corpus(chunks, keyword_rate=config.keyword_queries)


def _ollama(config: GenerateConfig, chunks: Sequence[Chunk]) -> QuestionGenerator:
    from edgembed.trainer.generate.ollama import DEFAULT_MODEL, OllamaBackend

    llm = config.llm
    backend = OllamaBackend(
        llm.model or DEFAULT_MODEL, llm.ollama_host, llm.timeout_s, llm.temperature
    )
    return LLMQuestionGenerator(backend)


def _openai(config: GenerateConfig, chunks: Sequence[Chunk]) -> QuestionGenerator:
    from edgembed.trainer.generate.openai_compat import OpenAIBackend

    llm = config.llm
    if not llm.base_url:
        raise ConfigError(
            "--base-url is required with --generator openai, so that your documents go only "
            "where you say: e.g. http://127.0.0.1:8080/v1 (llama.cpp server), "
            "http://127.0.0.1:11434/v1 (Ollama), https://api.openai.com/v1 (OpenAI)."
        )
    backend = OpenAIBackend(llm.base_url, llm.model, llm.api_key, llm.timeout_s, llm.temperature)
    return LLMQuestionGenerator(backend)


def _llamacpp(config: GenerateConfig, chunks: Sequence[Chunk]) -> QuestionGenerator:
    from edgembed.trainer.generate.llamacpp import LlamaCppBackend

    backend = LlamaCppBackend(config.llm.gguf, config.llm.temperature, config.seed)
    return LLMQuestionGenerator(backend)


GeneratorFactory = Callable[[GenerateConfig, Sequence[Chunk]], QuestionGenerator]
"""Builds a generator from the options and the chunk corpus (which ICT studies first)."""

GENERATORS: dict[str, GeneratorFactory] = {
    "ict": _ict,
    "ollama": _ollama,
    "openai": _openai,
    "llamacpp": _llamacpp,
}


def make_generator(config: GenerateConfig, chunks: Sequence[Chunk] = ()) -> QuestionGenerator:
    """Build the generator `config` names for `chunks` (nothing is contacted or loaded yet).

    Raises:
        ConfigError: the name is unknown, or its options are missing.
        MissingExtraError: its client package is not installed.
    """
    factory = GENERATORS.get(config.generator)
    if factory is None:
        known = ", ".join(sorted(GENERATORS))
        raise ConfigError(f"unknown generator '{config.generator}'. Known: {known}.")
    return factory(config, chunks)
