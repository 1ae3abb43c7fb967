"""A real `edgembed generate` process killed mid-run continues on the next call."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edgembed.config import LLMConfig
from edgembed.formats.pairs import read_pairs
from edgembed.trainer.generate import generate_pairs
from edgembed.workspace import Workspace
from tests.trainer.generate.conftest import make_config
from tests.trainer.generate.fake_llm import FakeLLMServer


def _records(ws: Path) -> list[dict[str, object]]:
    log = ws / "generate" / "progress.jsonl"
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.endswith("}")]


def _pairs(ws: Workspace) -> list[tuple[str, str, str]]:
    pairs = read_pairs(ws.pairs_train) + read_pairs(ws.pairs_eval)
    return sorted((p.query, p.positive_id, p.kind) for p in pairs)


@pytest.mark.slow
def test_sigkill_during_llm_calls_then_resume(docs: Path, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    with FakeLLMServer(delay_s=0.2) as server:
        command = [sys.executable, "-c", "from edgembed.cli.main import main; main()"]
        command += ["-q", "--workspace", str(ws), "generate", str(docs)]
        command += ["--chunk-words", "150", "--overlap-words", "20"]
        command += ["--generator", "ollama", "--ollama-host", server.url, "--concurrency", "2"]
        process = subprocess.Popen(command, env={**os.environ, "PYTHONPATH": os.getcwd()})
        deadline = time.monotonic() + 60
        while len(_records(ws)) < 4 and time.monotonic() < deadline:
            assert process.poll() is None, "generate finished before it could be killed"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait()
        calls_before = len(server.chats("/api/chat"))
    done = {str(record["chunk_id"]) for record in _records(ws)}
    assert 4 <= len(done) < 21
    assert not (ws / "pairs.train.jsonl").exists()  # killed: no half-made pairs files

    with FakeLLMServer() as server:
        config = make_config(docs, generator="ollama", llm=LLMConfig(ollama_host=server.url))
        summary = generate_pairs(config, Workspace(ws))
        prompts = [r["body"]["messages"][1]["content"] for r in server.chats("/api/chat")]
    assert summary.chunks_resumed == len(done) and summary.chunks_done == 21
    assert len(prompts) == 2 * (21 - len(done))  # questions + paraphrases, remaining chunks only
    assert calls_before >= 2 * len(done)
    ids = [str(record["chunk_id"]) for record in _records(ws)]
    assert len(ids) == len(set(ids)) == 21  # every chunk exactly once

    clean = Workspace(tmp_path / "clean")
    with FakeLLMServer() as server:
        config = make_config(docs, generator="ollama", llm=LLMConfig(ollama_host=server.url))
        generate_pairs(config, clean)
    assert _pairs(Workspace(ws)) == _pairs(clean)  # nothing lost, nothing repeated
