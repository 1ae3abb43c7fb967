from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from edgembed.cli.main import cli
from edgembed.pipeline import fingerprint

TOPICS = {
    "pto.md": "# Paid Time Off\n\n## Carry-over\n\n{}\n\n## Accrual\n\n{}\n",
    "travel.md": "# Travel\n\n## Per diem\n\n{}\n\n## Booking\n\n{}\n",
    "security.md": "# Security\n\n## MFA\n\n{}\n\n## Phishing\n\n{}\n",
}


def _paragraph(topic: str, n: int) -> str:
    return " ".join(
        f"Rule {i} of the {topic} policy says employees must follow step {i} carefully."
        for i in range(n)
    )


@pytest.fixture()
def docs(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    root.mkdir()
    for name, template in TOPICS.items():
        topic = name.split(".")[0]
        text = template.format(_paragraph(topic + " a", 12), _paragraph(topic + " b", 12))
        (root / name).write_text(text)
    (root / "questions.jsonl").write_text(
        json.dumps({"question": "how do I book a flight", "doc": "travel.md", "section": "Booking"})
        + "\n"
    )
    return root


def _args(ws: Path, docs: Path, model: Path, *extra: str) -> list[str]:
    return [
        "--workspace", str(ws), "pipeline", str(docs), "--base-model", str(model),
        "--epochs", "1", "--batch-size", "4", "--device", "cpu", "--chunk-words", "80",
        "--overlap-words", "10", *extra,
    ]  # fmt: skip


@pytest.mark.slow
def test_pipeline_runs_every_stage_then_skips_them(
    tmp_path: Path, docs: Path, tiny_mean_model: Path
) -> None:
    ws = tmp_path / "ws"
    result = CliRunner().invoke(cli, _args(ws, docs, tiny_mean_model))
    assert result.exit_code == 0, result.output
    for stage in ("generate", "train", "evaluate", "export", "bench"):
        assert f"[{stage}] done" in result.output
    assert "== edgembed summary ==" in result.output
    assert "real questions" in result.output  # DOCS/questions.jsonl picked up
    assert "edgembed serve" in result.output
    export = ws / "exports" / "edgembed-model"
    assert (export / "manifest.json").exists() and (ws / "reports" / "bench.json").exists()
    evaluation = json.loads((ws / "reports" / "evaluate.json").read_text())
    expected = "BASE model" if evaluation["verdict"] == "worse" else "the fine-tuned model"
    assert expected in result.output

    again = CliRunner().invoke(cli, _args(ws, docs, tiny_mean_model))
    assert again.exit_code == 0, again.output
    assert "[train] up to date, skipped" in again.output
    assert "[export] up to date, skipped" in again.output
    assert "up to date and skipped" in again.output


@pytest.mark.slow
def test_pipeline_refuses_to_replace_a_model_trained_on_other_inputs(
    tmp_path: Path, docs: Path, tiny_mean_model: Path
) -> None:
    ws = tmp_path / "ws"
    first = CliRunner().invoke(cli, _args(ws, docs, tiny_mean_model, "--no-bench"))
    assert first.exit_code == 0, first.output
    edited = CliRunner().invoke(cli, _args(ws, docs, tiny_mean_model, "--no-bench", "--lr", "1e-4"))
    assert edited.exit_code == 1
    assert "--force" in edited.output and "other inputs" in edited.output
    forced = CliRunner().invoke(
        cli, _args(ws, docs, tiny_mean_model, "--no-bench", "--lr", "1e-4", "--force")
    )
    assert forced.exit_code == 0, forced.output
    assert "[train] done" in forced.output


def test_pipeline_bad_input(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["--workspace", str(tmp_path), "pipeline", str(tmp_path / "x")]
    )
    assert result.exit_code == 1 and "does not exist" in result.output
    assert not (tmp_path / "models").exists()


def test_fingerprint_follows_content_and_settings(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("one")
    first = fingerprint([tmp_path], {"x": 1})
    assert fingerprint([tmp_path], {"x": 1}) == first
    assert fingerprint([tmp_path], {"x": 2}) != first
    (tmp_path / "a.txt").write_text("two")
    assert fingerprint([tmp_path], {"x": 1}) != first
