"""The `openai` generator: any OpenAI-compatible chat-completions server, via the official SDK.

vLLM, a llama.cpp server, LM Studio, Ollama's /v1 and OpenAI itself all speak it. JSON mode
(``response_format={"type": "json_object"}``) is asked for and dropped, once, for a server that
rejects it; the parser copes with plain text.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from edgembed.errors import ConfigError, GeneratorError, LLMUnavailableError, MissingExtraError
from edgembed.trainer.generate.base import AnswerShape

if TYPE_CHECKING:
    from openai import OpenAI

__all__ = ["OpenAIBackend"]

log = logging.getLogger(__name__)


class OpenAIBackend:
    """Chat with ``POST {base_url}/chat/completions``.

    Args:
        base_url: the server's API root, e.g. ``http://127.0.0.1:8080/v1``.
        model: the model name; None: the server's only model, read from ``/models``.
        api_key: sent as a Bearer token; local servers usually ignore it.
        timeout_s: seconds to wait for one answer.
        temperature: sampling temperature.
    """

    name = "openai"
    parallel = True

    def __init__(
        self,
        base_url: str,
        model: str | None,
        api_key: str | None,
        timeout_s: float = 300.0,
        temperature: float = 0.7,
    ) -> None:
        try:
            from openai import OpenAI
        except ImportError as exc:
            raise MissingExtraError("openai", "llm") from exc
        self.base_url = base_url
        self._model = model
        self._temperature = temperature
        self._json_mode = True
        self._client: OpenAI = OpenAI(
            base_url=base_url, api_key=api_key or "no-key", timeout=timeout_s, max_retries=2
        )

    @property
    def model(self) -> str:
        return self._model or "unknown"

    def _unreachable(self, detail: str) -> LLMUnavailableError:
        return LLMUnavailableError(
            f"cannot reach the OpenAI-compatible server at {self.base_url} ({detail}). Start "
            "it, or fix --base-url (it usually ends in /v1); `--generator ict` needs no LLM."
        )

    def _refused_key(self) -> LLMUnavailableError:
        return LLMUnavailableError(
            f"the server at {self.base_url} refused the API key: pass --api-key or set "
            "OPENAI_API_KEY."
        )

    def check(self) -> None:
        """Reach the server (GET /models) and settle which model to use."""
        import openai

        try:
            offered = [entry.id for entry in self._client.with_options(max_retries=0).models.list()]
        except openai.APIConnectionError as exc:
            raise self._unreachable(str(exc)) from exc
        except openai.AuthenticationError as exc:
            raise self._refused_key() from exc
        except openai.APIStatusError:
            offered = []  # some servers have no /models; the first chat call will tell
        if self._model is None:
            if len(offered) != 1:
                listed = ", ".join(offered) if offered else "no model list"
                raise ConfigError(f"pass --model: the server at {self.base_url} offers {listed}.")
            self._model = offered[0]
        elif offered and self._model not in offered:
            log.warning("the server lists %s, not %s; trying anyway", offered, self._model)

    def chat(self, system: str, user: str, shape: AnswerShape) -> str:
        """One chat completion; JSON mode unless the server rejected it."""
        import openai

        messages: list[Any] = [
            {"role": "system", "content": system},
            {"role": "user", "content": user},
        ]
        if self._json_mode:
            try:
                return self._complete(messages, shape, json_mode=True)
            except openai.BadRequestError as exc:
                log.info("the server rejected JSON mode (%s); asking for plain text", exc)
                self._json_mode = False
        try:
            return self._complete(messages, shape, json_mode=False)
        except openai.BadRequestError as exc:
            raise GeneratorError(f"the server rejected the chat request: {exc}") from exc

    def _complete(self, messages: list[Any], shape: AnswerShape, json_mode: bool) -> str:
        import openai

        extra: dict[str, Any] = {"response_format": {"type": "json_object"}} if json_mode else {}
        try:
            response = self._client.chat.completions.create(
                model=self.model,
                messages=messages,
                temperature=self._temperature,
                max_tokens=shape.max_tokens,
                **extra,
            )
        except openai.BadRequestError:
            raise  # the caller decides whether JSON mode was the problem
        except openai.NotFoundError as exc:
            raise LLMUnavailableError(
                f"the server at {self.base_url} has no model '{self.model}' ({exc}); "
                "pass one it serves with --model."
            ) from exc
        except openai.AuthenticationError as exc:
            raise self._refused_key() from exc
        except openai.APIConnectionError as exc:
            raise self._unreachable(str(exc)) from exc
        except openai.APIStatusError as exc:
            raise GeneratorError(f"the server answered HTTP {exc.status_code}: {exc}") from exc
        if not response.choices:
            return ""
        return response.choices[0].message.content or ""
