"""`edgembed generate` through click: success, summary, and every kind of bad input."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from edgembed.cli.main import cli
from tests.trainer.generate.fake_llm import FakeLLMServer
from tests.trainer.generate.test_ollama import free_port

SMALL = ["--chunk-words", "150", "--overlap-words", "20"]


def _run(ws: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--workspace", str(ws), "generate", *args], env=env)
    return result.exit_code, result.output


def test_generate_prints_a_summary_and_writes_everything(docs: Path, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    code, output = _run(ws, str(docs), *SMALL)
    assert code == 0, output
    assert "generator ict, model none" in output
    assert "chunks" in output and "time/chunk" in output
    for name in ("chunks.jsonl", "pairs.train.jsonl", "pairs.eval.jsonl", "reports/generate.json"):
        assert (ws / name).is_file() and f"wrote {ws / name}" in output
    chunks = len((ws / "chunks.jsonl").read_text().splitlines())
    pairs = sum(
        len((ws / n).read_text().splitlines()) for n in ("pairs.train.jsonl", "pairs.eval.jsonl")
    )
    # ict asks 3 sentences of each chunk by default and visits every chunk; short chunks may
    # have fewer to give.
    assert f"kept by kind: ict {pairs}" in output and 3 * chunks < pairs <= 10 * chunks
    again_code, again = _run(ws, str(docs), *SMALL)  # finished run: nothing to redo
    assert again_code == 0 and "21 (21 resumed)" in again


def test_help_teaches(tmp_path: Path) -> None:
    code, output = _run(tmp_path, "--help")
    assert code == 0
    for text in ("--generator", "questions.jsonl", "--force", "ollama serve", "--mix-ict"):
        assert text in output


def test_missing_folder_and_no_documents(tmp_path: Path) -> None:
    code, output = _run(tmp_path / "ws", str(tmp_path / "nope"))
    assert code == 1 and "does not exist" in output and "Traceback" not in output
    (tmp_path / "empty").mkdir()
    code, output = _run(tmp_path / "ws", str(tmp_path / "empty"))
    assert code == 1 and "no readable documents" in output
    assert not (tmp_path / "ws").exists()


def test_bad_options(docs: Path, tmp_path: Path) -> None:
    code, output = _run(tmp_path / "ws", str(docs), "--paraphrases", "2")
    assert code == 1 and "need an LLM generator" in output
    code, output = _run(tmp_path / "ws", str(docs), "--generator", "gpt5")
    assert code == 2 and "gpt5" in output
    code, output = _run(tmp_path / "ws", str(docs), "--generator", "openai")
    assert code == 1 and "--base-url is required" in output
    code, output = _run(tmp_path / "ws", str(docs), "--eval-fraction", "0.9")
    assert code == 2


def test_unreachable_ollama_exits_non_zero_and_writes_nothing(docs: Path, tmp_path: Path) -> None:
    host = f"http://127.0.0.1:{free_port()}"
    code, output = _run(tmp_path / "ws", str(docs), "--generator", "ollama", "--ollama-host", host)
    assert code == 1 and "ollama serve" in output and "Traceback" not in output
    assert not (tmp_path / "ws").exists()


def test_ollama_host_from_the_environment(docs: Path, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    with FakeLLMServer() as server:
        args = [str(docs), *SMALL, "--generator", "ollama", "--max-pairs", "9", "--mix-ict"]
        code, output = _run(ws, *args, env={"OLLAMA_HOST": server.url})
    assert code == 0, output
    assert "generator ollama, model llama3.1:8b" in output
    report = json.loads((ws / "reports" / "generate.json").read_text())
    assert report["pairs"] == 9 and set(report["kinds"]) <= {"question", "paraphrase", "ict"}


def test_garbage_llm_output_exits_non_zero(docs: Path, tmp_path: Path) -> None:
    with FakeLLMServer(reply=lambda prompt: "I'm sorry, I can't help with that.") as server:
        args = [str(docs), "--generator", "ollama", "--ollama-host", server.url]
        code, output = _run(tmp_path / "ws", *args)
    assert code == 1 and "no usable pairs" in output and "refusal" in output
    assert not (tmp_path / "ws" / "pairs.train.jsonl").exists()


def test_changed_options_need_force(docs: Path, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    assert _run(ws, str(docs), *SMALL)[0] == 0
    code, output = _run(ws, str(docs), *SMALL, "--seed", "7")
    assert code == 1 and "seed: 42 -> 7" in output and "--force" in output
    code, output = _run(ws, str(docs), *SMALL, "--seed", "7", "--force")
    assert code == 0, output
