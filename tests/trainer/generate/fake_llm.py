"""A scripted LLM server on 127.0.0.1 speaking Ollama's and OpenAI's wire formats exactly.

Ollama (docs/api.md): ``GET /api/tags`` lists models; ``POST /api/chat`` with ``stream: false``
answers one object with ``message``, ``done: true`` and the duration counters; an unknown
model is ``404 {"error": "model 'x' not found"}``. OpenAI: ``GET /v1/models`` and
``POST /v1/chat/completions`` (a ``chat.completion`` object). Every request body is kept in
``requests`` for the tests to inspect.
"""

from __future__ import annotations

import json
import re
import threading
import time
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = Callable[[str], str]

_WORD = re.compile(r"[A-Za-z]{5,}")


def scripted_reply(prompt: str) -> str:
    """A deterministic, well-formed answer: distinct questions about the passage's words."""
    if "<passage>" in prompt:
        passage = prompt.split("<passage>")[1].split("</passage>")[0]
        # The passage's last words: its breadcrumb and overlap are shared with other chunks.
        words = list(dict.fromkeys(w.lower() for w in reversed(_WORD.findall(passage))))
        a, b, c = (words + ["policy", "rules", "process"])[:3]
        clause = zlib.crc32(passage.encode()) % 1000  # keeps questions of similar chunks apart
        questions = [
            f"What is the rule for {a} in clause {clause}?",
            f"How do I handle {b} and {c}?",
            f"Who decides about {c} when {a} applies?",
        ]
        return json.dumps({"questions": questions})
    numbered = re.findall(r"^\d+\. (.+)$", prompt, flags=re.MULTILINE)
    rewrites = [f"Could you explain this to me: {q.rstrip('?').lower()}?" for q in numbered]
    return json.dumps({"paraphrases": rewrites})


class FakeLLMServer:
    """Serve scripted chat answers in a background thread.

    Args:
        reply: maps the user prompt to the assistant's text.
        models: the model names the server has.
        delay_s: seconds to wait before each chat answer (to interrupt a run mid-call).
        reject_json_mode: answer 400 to OpenAI requests with ``response_format``.
        api_key: OpenAI routes answer 401 unless sent ``Authorization: Bearer <api_key>``.
        legacy_tags: list models the way old Ollama servers did, under ``name`` only.
    """

    def __init__(
        self,
        reply: Reply = scripted_reply,
        models: tuple[str, ...] = ("llama3.1:8b",),
        delay_s: float = 0.0,
        reject_json_mode: bool = False,
        api_key: str | None = None,
        legacy_tags: bool = False,
    ) -> None:
        self.reply = reply
        self.models = models
        self.delay_s = delay_s
        self.reject_json_mode = reject_json_mode
        self.api_key = api_key
        self.legacy_tags = legacy_tags
        self.requests: list[dict[str, Any]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeLLMServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def chats(self, path: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"] == path]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _refused(self) -> bool:
                wanted = f"Bearer {fake.api_key}"
                if not self.path.startswith("/v1/") or fake.api_key is None:
                    return False
                if self.headers.get("Authorization") == wanted:
                    return False
                error = {"message": "Incorrect API key provided", "type": "invalid_request_error"}
                self._send(401, {"error": {**error, "param": None, "code": "invalid_api_key"}})
                return True

            def do_GET(self) -> None:
                if self._refused():
                    return
                if self.path == "/api/tags":
                    models = [_ollama_model(m) for m in fake.models]
                    if fake.legacy_tags:
                        models = [{k: v for k, v in m.items() if k != "model"} for m in models]
                    self._send(200, {"models": models})
                elif self.path == "/v1/models":
                    data = [_openai_model(m) for m in fake.models]
                    self._send(200, {"object": "list", "data": data})
                else:
                    self._send(404, {"error": "404 page not found"})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append({"path": self.path, "body": body})
                if self._refused():
                    return
                if self.path == "/api/chat":
                    self._ollama_chat(body)
                elif self.path == "/v1/chat/completions":
                    self._openai_chat(body)
                else:
                    self._send(404, {"error": "404 page not found"})

            def _answer(self, body: dict[str, Any]) -> str:
                time.sleep(fake.delay_s)
                return fake.reply(body["messages"][-1]["content"])

            def _ollama_chat(self, body: dict[str, Any]) -> None:
                if body.get("model") not in fake.models:
                    self._send(404, {"error": f"model '{body.get('model')}' not found"})
                    return
                content = self._answer(body)
                self._send(200, _ollama_chat_response(body["model"], content))

            def _openai_chat(self, body: dict[str, Any]) -> None:
                if fake.reject_json_mode and "response_format" in body:
                    error = {"message": "response_format is not supported", "type": "x"}
                    self._send(400, {"error": {**error, "param": None, "code": None}})
                    return
                if body.get("model") not in fake.models:
                    error = {"message": f"model {body.get('model')} does not exist"}
                    self._send(404, {"error": {**error, "type": "invalid_request_error"}})
                    return
                self._send(200, _openai_chat_response(body["model"], self._answer(body)))

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client was killed mid-request: that is the point of some tests

        return Handler


def _ollama_model(name: str) -> dict[str, Any]:
    details = {
        "parent_model": "",
        "format": "gguf",
        "family": "llama",
        "families": ["llama"],
        "parameter_size": "8.0B",
        "quantization_level": "Q4_K_M",
    }
    return {
        "name": name,
        "model": name,
        "modified_at": "2025-01-15T10:21:49.4829876+01:00",
        "size": 4920753328,
        "digest": "46e0c10c039e019119339687c3c1757cc81b9da49709a3b3924863ba87ca666e",
        "details": details,
    }


def _ollama_chat_response(model: str, content: str) -> dict[str, Any]:
    return {
        "model": model,
        "created_at": "2025-01-15T10:22:01.527193Z",
        "message": {"role": "assistant", "content": content},
        "done_reason": "stop",
        "done": True,
        "total_duration": 2254970291,
        "load_duration": 574751416,
        "prompt_eval_count": 34,
        "prompt_eval_duration": 1502000000,
        "eval_count": 12,
        "eval_duration": 175000000,
    }


def _openai_model(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 1736935321, "owned_by": "fake"}


def _openai_chat_response(model: str, content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1736935321,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 34, "completion_tokens": 12, "total_tokens": 46},
    }
