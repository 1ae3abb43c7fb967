"""`edgembed serve` options of the query log, feedback store, corpus search and comparison."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from edgembed.cli.main import cli
from edgembed.config import ServeSettings
from tests.cli.test_serve_cli import served  # noqa: F401  (the recorder fixture)


def test_loop_options_become_settings(tmp_path: Path, served: dict[str, Any]) -> None:  # noqa: F811
    workspace = tmp_path / "ws"
    (workspace / "exports" / "base").mkdir(parents=True)
    (workspace / "exports" / "tuned").mkdir()
    (workspace / "chunks.jsonl").write_text("")
    result = CliRunner().invoke(
        cli,
        [
            "--workspace",
            str(workspace),
            "serve",
            "tuned",
            "--log-queries",
            str(tmp_path / "queries.jsonl"),
            "--log-queries-max-mb",
            "0.5",
            "--feedback-db",
            str(tmp_path / "feedback.db"),
            "--corpus",
            str(workspace),
            "--compare",
            "base",
        ],
    )
    assert result.exit_code == 0, result.output
    assert served["settings"] == ServeSettings(
        log_queries=tmp_path / "queries.jsonl",
        log_queries_max_mb=0.5,
        feedback_db=tmp_path / "feedback.db",
        corpus=workspace / "chunks.jsonl",
        compare=workspace / "exports" / "base",
        versions_dir=workspace / "exports",
    )


def test_loop_is_off_by_default(tmp_path: Path, served: dict[str, Any]) -> None:  # noqa: F811
    assert CliRunner().invoke(cli, ["serve", str(tmp_path)]).exit_code == 0
    settings = served["settings"]
    assert settings.log_queries is None and settings.feedback_db is None
    assert settings.corpus is None and settings.compare is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--log-queries-max-mb", "0"], "0"),
        (["--corpus", "no-such-folder"], "no-such-folder"),
        (["--corpus", "."], "holds no chunks.jsonl"),
        (["--compare", "no-such-export"], "--compare"),
        (["--log-queries", "."], "directory"),
    ],
)
def test_bad_loop_options_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["serve", str(tmp_path), *args])
    assert result.exit_code == 2
    assert message in result.output


def test_compare_without_a_corpus_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["serve", str(tmp_path), "--compare", str(tmp_path)])
    assert result.exit_code == 1
    assert "compare needs a corpus" in result.output


def test_help_teaches_the_loop() -> None:
    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert result.exit_code == 0
    for words in ("--log-queries", "input_type", "--feedback-db", "--corpus", "--compare"):
        assert words in result.output
