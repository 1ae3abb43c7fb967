"""The ollama generator, through the official client, against a server speaking Ollama's API."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from edgembed.config import LLMConfig
from edgembed.errors import GeneratorError, LLMUnavailableError
from edgembed.formats.pairs import read_pairs
from edgembed.trainer.generate import generate_pairs
from edgembed.trainer.generate.base import AnswerShape
from edgembed.trainer.generate.ollama import OllamaBackend
from edgembed.workspace import Workspace
from tests.trainer.generate.conftest import make_config
from tests.trainer.generate.fake_llm import FakeLLMServer


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_questions_and_paraphrases_from_ollama(docs: Path, workspace: Workspace) -> None:
    with FakeLLMServer() as server:
        config = make_config(
            docs, generator="ollama", llm=LLMConfig(ollama_host=server.url), max_pairs=40
        )
        summary = generate_pairs(config, workspace)
    assert summary.generator == "ollama" and summary.model == "llama3.1:8b"
    pairs = read_pairs(workspace.pairs_train) + read_pairs(workspace.pairs_eval)
    assert len(pairs) == 40 and {p.kind for p in pairs} == {"question", "paraphrase"}
    assert {(p.generator, p.model) for p in pairs} == {("ollama", "llama3.1:8b")}
    body = server.chats("/api/chat")[0]["body"]
    assert body["model"] == "llama3.1:8b" and body["format"] == "json"
    assert body["stream"] is False and body["options"]["num_predict"] == 64 + 48 * 3
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert "<passage>" in body["messages"][1]["content"]


def test_a_model_not_pulled_names_ollama_pull(docs: Path, workspace: Workspace) -> None:
    with FakeLLMServer(models=("qwen2.5:0.5b",)) as server:
        config = make_config(docs, generator="ollama", llm=LLMConfig(ollama_host=server.url))
        with pytest.raises(LLMUnavailableError, match=r"`ollama pull llama3.1:8b`"):
            generate_pairs(config, workspace)
        assert server.chats("/api/chat") == []
    assert not workspace.root.exists()  # nothing written, not even chunks.jsonl


def test_a_model_tag_without_latest_matches(docs: Path) -> None:
    with FakeLLMServer(models=("mistral:latest",)) as server:
        OllamaBackend("mistral", server.url).check()


def test_old_servers_listing_names_only_are_checked_by_the_chat_call(docs: Path) -> None:
    with FakeLLMServer(models=("qwen2.5:0.5b",), legacy_tags=True) as server:
        OllamaBackend("qwen2.5:0.5b", server.url).check()
        backend = OllamaBackend("llama3.1:8b", server.url)
        backend.check()  # cannot tell from the listing...
        with pytest.raises(LLMUnavailableError, match=r"`ollama pull llama3.1:8b`"):
            backend.chat("system", "user", AnswerShape("questions", 3))  # ...the 404 does


def test_chat_404_for_a_missing_model_names_ollama_pull() -> None:
    with FakeLLMServer() as server:
        backend = OllamaBackend("gone:1b", server.url)
        with pytest.raises(LLMUnavailableError, match=r"`ollama pull gone:1b`"):
            backend.chat("system", "user", AnswerShape("questions", 3))


def test_an_unreachable_server_names_ollama_serve(docs: Path, workspace: Workspace) -> None:
    host = f"http://127.0.0.1:{free_port()}"
    config = make_config(docs, generator="ollama", llm=LLMConfig(ollama_host=host))
    with pytest.raises(LLMUnavailableError, match=r"cannot reach Ollama at .*`ollama serve`"):
        generate_pairs(config, workspace)
    assert not workspace.root.exists()


def test_garbage_answers_are_a_clear_error(docs: Path, workspace: Workspace) -> None:
    with FakeLLMServer(reply=lambda prompt: '{"answer": 42}') as server:
        llm = LLMConfig(ollama_host=server.url)
        config = make_config(docs, generator="ollama", llm=llm, concurrency=1)
        with pytest.raises(GeneratorError, match="no usable pairs.*unparseable"):
            generate_pairs(config, workspace)
        assert len(server.chats("/api/chat")) == 10  # 5 chunks, asked twice each
    assert not workspace.pairs_train.exists()
