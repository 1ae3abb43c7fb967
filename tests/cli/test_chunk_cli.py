from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from edgembed.cli.main import cli
from tests.corpus.test_loaders import MD, TXT


def test_chunk_writes_chunks_and_summary(
    tmp_path: Path, make_docs: Callable[[dict[str, str | bytes]], Path]
) -> None:
    docs = make_docs({"pto.md": MD, "travel.txt": TXT, "bad.pdf": b"nope"})
    ws = tmp_path / "ws"
    result = CliRunner().invoke(cli, ["--workspace", str(ws), "chunk", str(docs)])
    assert result.exit_code == 0, result.output
    assert "documents read" in result.output and "skipped bad.pdf" in result.output
    rows = [json.loads(line) for line in (ws / "chunks.jsonl").read_text().splitlines()]
    assert {r["doc"] for r in rows} == {"pto.md", "travel.txt"}
    again = CliRunner().invoke(cli, ["--workspace", str(ws), "chunk", str(docs)])
    assert again.exit_code == 0
    assert [json.loads(line)["id"] for line in (ws / "chunks.jsonl").read_text().splitlines()] == [
        r["id"] for r in rows
    ]


def test_chunk_strict_fails_on_skipped(
    tmp_path: Path, make_docs: Callable[[dict[str, str | bytes]], Path]
) -> None:
    docs = make_docs({"pto.md": MD, "bad.pdf": b"nope"})
    result = CliRunner().invoke(cli, ["--workspace", str(tmp_path), "chunk", "--strict", str(docs)])
    assert result.exit_code == 1 and "--strict" in result.output


def test_chunk_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["--workspace", str(tmp_path), "chunk", str(tmp_path / "nope")]
    )
    assert result.exit_code == 1
    assert "does not exist" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "chunks.jsonl").exists()


def test_chunk_folder_without_documents(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x.bin").write_bytes(b"\0\1")
    result = CliRunner().invoke(cli, ["--workspace", str(tmp_path), "chunk", str(tmp_path / "d")])
    assert result.exit_code == 1 and "no readable documents" in result.output


def test_chunk_bad_option_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["chunk", "--chunk-words", "5", str(tmp_path)])
    assert result.exit_code == 2


def test_config_file_and_env_precedence(
    tmp_path: Path, make_docs: Callable[[dict[str, str | bytes]], Path]
) -> None:
    docs = make_docs({"pto.md": MD})
    toml = tmp_path / "edgembed.toml"
    toml.write_text(f'workspace = "{tmp_path / "from-toml"}"\n[chunk]\nchunk-words = 200\n')
    runner = CliRunner()
    result = runner.invoke(
        cli, ["--config", str(toml), "chunk", str(docs)], auto_envvar_prefix="EDGEMBED"
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "from-toml" / "chunks.jsonl").exists()
    env = {"EDGEMBED_WORKSPACE": str(tmp_path / "from-env")}
    result = runner.invoke(
        cli, ["--config", str(toml), "chunk", str(docs)], env=env, auto_envvar_prefix="EDGEMBED"
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "from-env" / "chunks.jsonl").exists()


def test_bad_config_file(tmp_path: Path) -> None:
    toml = tmp_path / "edgembed.toml"
    toml.write_text("this is = = not toml")
    result = CliRunner().invoke(cli, ["--config", str(toml), "chunk", str(tmp_path)])
    assert result.exit_code == 1 and "not valid TOML" in result.output


def test_version_and_help() -> None:
    runner = CliRunner()
    assert "edgembed, version" in runner.invoke(cli, ["--version"]).output
    assert "chunk" in runner.invoke(cli, ["--help"]).output


def test_chunk_strict_leaves_the_questions_file_out_without_failing(
    tmp_path: Path, make_docs: Callable[[dict[str, str | bytes]], Path]
) -> None:
    question = json.dumps({"question": "Zebracorn carry-over?", "doc": "pto.md"})
    docs = make_docs({"pto.md": MD, "questions.jsonl": question + "\n"})
    result = CliRunner().invoke(cli, ["--workspace", str(tmp_path), "chunk", "--strict", str(docs)])
    assert result.exit_code == 0, result.output
    assert "skipped questions.jsonl" not in result.output
    assert "Zebracorn" not in (tmp_path / "chunks.jsonl").read_text()


def test_chunk_strict_accepts_the_sample_docs(tmp_path: Path) -> None:
    sample_docs = Path(__file__).parents[2] / "sample_docs"
    result = CliRunner().invoke(
        cli, ["--workspace", str(tmp_path), "chunk", "--strict", str(sample_docs)]
    )
    assert result.exit_code == 0, result.output
    docs = {
        json.loads(line)["doc"] for line in (tmp_path / "chunks.jsonl").read_text().splitlines()
    }
    assert "questions.jsonl" not in docs and len(docs) == 25


def test_chunk_refuses_the_questions_file_as_docs(
    tmp_path: Path, make_docs: Callable[[dict[str, str | bytes]], Path]
) -> None:
    docs = make_docs({"pto.md": MD, "questions.jsonl": "{}\n"})
    result = CliRunner().invoke(
        cli, ["--workspace", str(tmp_path), "chunk", str(docs / "questions.jsonl")]
    )
    assert result.exit_code == 1 and "real evaluation questions" in result.output
