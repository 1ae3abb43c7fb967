"""The `ollama` generator: a local or remote Ollama server, through the official client."""

from __future__ import annotations

from typing import Any

from edgembed.errors import GeneratorError, LLMUnavailableError, MissingExtraError
from edgembed.trainer.generate.base import AnswerShape

__all__ = ["DEFAULT_HOST", "DEFAULT_MODEL", "OllamaBackend"]

DEFAULT_MODEL = "llama3.1:8b"
DEFAULT_HOST = "http://127.0.0.1:11434"


class OllamaBackend:
    """Chat with Ollama's /api/chat in JSON mode.

    Args:
        model: an Ollama model tag; it must have been pulled.
        host: the server (``--ollama-host`` / ``OLLAMA_HOST``); None: Ollama's default.
        timeout_s: seconds to wait for one answer.
        temperature: sampling temperature.
    """

    name = "ollama"
    parallel = True

    def __init__(
        self, model: str, host: str | None, timeout_s: float = 300.0, temperature: float = 0.7
    ) -> None:
        try:
            import ollama
        except ImportError as exc:
            raise MissingExtraError("ollama", "llm") from exc
        self.model = model
        self.host = host or DEFAULT_HOST
        self._temperature = temperature
        self._client = ollama.Client(host=self.host, timeout=timeout_s)

    def _unreachable(self, detail: str) -> LLMUnavailableError:
        return LLMUnavailableError(
            f"cannot reach Ollama at {self.host} ({detail}). Start it with `ollama serve`, or "
            "point --ollama-host (or OLLAMA_HOST) at a running server; `--generator ict` "
            "needs no LLM at all."
        )

    def _missing_model(self) -> LLMUnavailableError:
        return LLMUnavailableError(
            f"Ollama at {self.host} does not have the model '{self.model}'. "
            f"Download it with `ollama pull {self.model}`, or choose another with --model."
        )

    def check(self) -> None:
        """Make sure the server answers and has the model (GET /api/tags)."""
        import httpx
        import ollama

        try:
            listing = self._client.list()
        except ConnectionError as exc:
            raise self._unreachable("cannot connect") from exc
        except ollama.ResponseError as exc:
            raise self._unreachable(f"HTTP {exc.status_code}: {exc.error}") from exc
        except httpx.HTTPError as exc:  # timeouts and other transport errors
            raise self._unreachable(f"{type(exc).__name__}: {exc}") from exc
        except ValueError as exc:  # pydantic: the answer is not Ollama's
            raise self._unreachable(f"not an Ollama server: {exc}") from exc
        names = {entry.model for entry in listing.models if entry.model}
        # Old servers list models under "name" only, which the client drops: then the first
        # chat call's 404 is what tells a missing model.
        if names and self.model not in names and f"{self.model}:latest" not in names:
            raise self._missing_model()

    def chat(self, system: str, user: str, shape: AnswerShape) -> str:
        """One non-streaming /api/chat call with ``format: json``."""
        import httpx
        import ollama

        messages: list[dict[str, Any]] = [
            {"role": "system", "content": system},
            {"role": "user", "content": user},
        ]
        try:
            response = self._client.chat(
                model=self.model,
                messages=messages,
                format="json",
                options={"temperature": self._temperature, "num_predict": shape.max_tokens},
            )
        except ConnectionError as exc:
            raise self._unreachable("cannot connect") from exc
        except ollama.ResponseError as exc:
            if exc.status_code == 404:
                raise self._missing_model() from exc
            raise GeneratorError(f"Ollama answered HTTP {exc.status_code}: {exc.error}") from exc
        except httpx.HTTPError as exc:  # timeouts and other transport errors
            raise self._unreachable(f"{type(exc).__name__}: {exc}") from exc
        except ValueError as exc:  # pydantic: the answer is not in /api/chat's format
            raise GeneratorError(f"Ollama's answer is not a chat response: {exc}") from exc
        return response.message.content or ""
