from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from edgembed.cli.main import cli
from edgembed.config import ChunkConfig, GenerateConfig, PipelineConfig, TrainConfig
from edgembed.pipeline import _Runner, fingerprint
from edgembed.workspace import Workspace

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
    expected = "BASE model" if evaluation["verdict"] != "better" else "the fine-tuned model"
    assert expected in result.output

    again = CliRunner().invoke(cli, _args(ws, docs, tiny_mean_model))
    assert again.exit_code == 0, again.output
    assert "[train] up to date, skipped" in again.output
    assert "[export] up to date, skipped" in again.output
    assert "up to date and skipped" in again.output

    # A standalone evaluate of another model replaces the report the pipeline decided on:
    # the next run evaluates its own model again instead of trusting that report.
    other = ["--workspace", str(ws), "evaluate", "--model", str(tiny_mean_model)]
    other += ["--base", str(tiny_mean_model), "--device", "cpu", "--allow-worse"]
    assert CliRunner().invoke(cli, other).exit_code == 0
    third = CliRunner().invoke(cli, _args(ws, docs, tiny_mean_model, "--no-bench"))
    assert third.exit_code == 0, third.output
    assert "[evaluate] done" in third.output and "[train] up to date, skipped" in third.output
    assert (
        json.loads((ws / "reports" / "evaluate.json").read_text())["model"] == evaluation["model"]
    )


@pytest.mark.slow
def test_pipeline_refuses_to_replace_a_model_trained_on_other_inputs(
    tmp_path: Path, docs: Path, tiny_mean_model: Path
) -> None:
    ws = tmp_path / "ws"
    first = CliRunner().invoke(cli, _args(ws, docs, tiny_mean_model, "--no-bench"))
    assert first.exit_code == 0, first.output
    edited = CliRunner().invoke(cli, _args(ws, docs, tiny_mean_model, "--no-bench", "--lr", "3e-5"))
    assert edited.exit_code == 1
    assert "--force" in edited.output and "other inputs" in edited.output
    forced = CliRunner().invoke(
        cli, _args(ws, docs, tiny_mean_model, "--no-bench", "--lr", "3e-5", "--force")
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


def test_a_stage_whose_output_was_replaced_runs_again(tmp_path: Path) -> None:
    """A stage is up to date only while its output files are the ones it wrote."""
    config = PipelineConfig(GenerateConfig(ChunkConfig(docs=tmp_path)), TrainConfig())
    runner = _Runner(config, Workspace(tmp_path / "ws"), echo=lambda line: None)
    report = tmp_path / "report.json"
    runs: list[str] = []

    def run() -> str:
        runs.append("ran")
        report.write_text('{"model": "mine"}')
        return ""

    runner.stage("evaluate", "key", [report], run)
    runner.stage("evaluate", "key", [report], run)
    assert runs == ["ran"]
    report.write_text('{"model": "another one"}')  # e.g. a standalone `edgembed evaluate`
    runner.stage("evaluate", "key", [report], run)
    assert runs == ["ran", "ran"] and report.read_text() == '{"model": "mine"}'


def _invoke(ws: Path, docs: Path, *extra: str, **kwargs: Any) -> Result:
    """`edgembed --workspace WS pipeline DOCS EXTRA...`"""
    return CliRunner().invoke(
        cli, ["--workspace", str(ws), "pipeline", str(docs), *extra], **kwargs
    )


def test_stages_take_their_edgembed_toml_tables_and_variables(tmp_path: Path, docs: Path) -> None:
    toml = tmp_path / "edgembed.toml"
    toml.write_text(
        "[generate]\nmax-pairs = 12\nchunk-words = 80\noverlap-words = 10\n"
        '[train]\nbase-model = "nobody/from-toml"\nepochs = 7\n'
    )
    ws = tmp_path / "ws"
    env = {"EDGEMBED_TRAIN_BASE_MODEL": "nobody/from-env"}
    args = ["--workspace", str(ws), "--config", str(toml), "pipeline", str(docs)]
    result = CliRunner().invoke(cli, args, env=env, auto_envvar_prefix="EDGEMBED")
    # generate ran with the [generate] table; train got the variable over the [train] table.
    assert result.exit_code == 1 and "nobody/from-env" in result.output, result.output
    report = json.loads((ws / "reports" / "generate.json").read_text())
    assert report["pairs"] == 12
    chunked = CliRunner().invoke(
        cli,
        ["--workspace", str(tmp_path / "c"), "chunk", str(docs), "--chunk-words", "80"]
        + ["--overlap-words", "10"],
    )
    assert chunked.exit_code == 0, chunked.output
    assert (ws / "chunks.jsonl").read_text() == (tmp_path / "c" / "chunks.jsonl").read_text()
    flag = CliRunner().invoke(
        cli, [*args, "--base-model", "nobody/from-flag"], env=env, auto_envvar_prefix="EDGEMBED"
    )
    assert flag.exit_code == 1 and "nobody/from-flag" in flag.output, flag.output
    assert "[generate] up to date, skipped" in flag.output


def test_a_stage_variable_is_checked_like_the_stage_checks_it(tmp_path: Path, docs: Path) -> None:
    result = _invoke(
        tmp_path / "ws", docs, env={"EDGEMBED_TRAIN_BATCH_SIZE": "1"}, auto_envvar_prefix="EDGEMBED"
    )
    assert result.exit_code == 2 and "--batch-size" in result.output
    assert not (tmp_path / "ws" / "chunks.jsonl").exists()


def test_pipeline_has_every_option_of_generate_train_and_export() -> None:
    from edgembed.cli.export import export_options
    from edgembed.cli.generate import generate
    from edgembed.cli.options import option_names
    from edgembed.cli.pipeline import pipeline
    from edgembed.cli.train import train

    own = {p.name for p in pipeline.params}
    assert {p.name for p in generate.params} <= own
    assert {p.name for p in train.params} <= own
    assert option_names(export_options) <= own
    help_text = CliRunner().invoke(cli, ["pipeline", "--help"]).output
    for flag in ("--eval-fraction", "--hard-negatives", "--matryoshka", "--isa", "--loss"):
        assert flag in help_text
    assert "EDGEMBED_TRAIN_EPOCHS" in help_text


@pytest.mark.slow
def test_pipeline_exits_1_like_export_when_int8_fails_the_gate(
    tmp_path: Path, docs: Path, tiny_mean_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import edgembed.exporter.parity as parity_module

    for threshold in ("GATE_NDCG_RATIO", "GATE_NOISE_FLOOR", "GATE_MEAN_COSINE"):
        monkeypatch.setattr(parity_module, threshold, 1.01)  # nothing can pass
    ws = tmp_path / "ws"
    rejected = CliRunner().invoke(cli, _args(ws, docs, tiny_mean_model, "--no-bench"))
    assert rejected.exit_code == 1, rejected.output
    assert "== edgembed summary ==" in rejected.output  # the summary comes first
    assert "--accept-parity-loss" in rejected.output and "fp32 model only" in rejected.output
    manifest = json.loads((ws / "exports" / "edgembed-model" / "manifest.json").read_text())
    assert manifest["parity"]["int8_kept"] is False
    accepted = CliRunner().invoke(
        cli, _args(ws, docs, tiny_mean_model, "--no-bench", "--accept-parity-loss", "--force")
    )
    assert accepted.exit_code == 0, accepted.output
    assert "[train] up to date, skipped" in accepted.output and "[export] done" in accepted.output
    manifest = json.loads((ws / "exports" / "edgembed-model" / "manifest.json").read_text())
    assert manifest["parity"]["int8_kept"] is True


def test_force_starts_generate_over_only_when_its_options_changed(
    tmp_path: Path, docs: Path
) -> None:
    # A base model that does not exist stops each run at train, right after generate.
    ws = tmp_path / "ws"
    args = ["--base-model", "nobody/no-model", "--chunk-words", "80", "--overlap-words", "10"]
    args += ["--questions-per-chunk", "4"]

    def generate_report(*extra: str) -> dict[str, Any]:
        result = _invoke(ws, docs, *args, *extra)
        assert result.exit_code == 1 and "nobody/no-model" in result.output, result.output
        report: dict[str, Any] = json.loads((ws / "reports" / "generate.json").read_text())
        return report

    assert generate_report()["chunks_resumed"] == 0
    travel = docs / "travel.md"
    travel.write_text(travel.read_text().replace("Booking", "Booking a trip"))
    edited = generate_report("--force")
    assert 0 < edited["chunks_resumed"] < edited["chunks"]  # only the edited chunks redone
    refused = _invoke(ws, docs, *args, "--questions-per-chunk", "2")
    assert refused.exit_code == 1 and "questions_per_chunk: 4 -> 2" in refused.output
    assert generate_report("--questions-per-chunk", "2", "--force")["chunks_resumed"] == 0


def _evaluation(fine_tuned: float, reranked: float | None, noise: float = 0.0) -> dict[str, Any]:
    """An evaluation of 100 questions whose per-question NDCG@10 average to the figures given;
    `noise` spreads the reranker's per-question change around its mean."""
    metrics = {"fine-tuned": {"ndcg_at_10": fine_tuned}}
    per_query = {"fine-tuned": [fine_tuned] * 100}
    if reranked is not None:
        metrics["reranked"] = {"ndcg_at_10": reranked}
        spread = [noise if i % 2 else -noise for i in range(100)]
        per_query["reranked"] = [reranked + d for d in spread]
    real = {"metrics": metrics, "per_query_ndcg_at_10": per_query}
    return {"query_sets": {"real questions": real}}


def test_the_real_questions_decide_whether_a_trained_reranker_is_exported() -> None:
    """The eval pairs flatter a reranker: where real questions were given they decide, even
    against its training's verdict on the eval queries, and only a gain beyond noise counts;
    without them that verdict does."""
    from edgembed.pipeline import reranker_refusal

    loses = reranker_refusal(_evaluation(0.746, 0.580), helps=True)
    assert loses is not None and "0.580" in loses and "0.746" in loses
    assert reranker_refusal(_evaluation(0.597, 0.640), helps=False) is None
    assert reranker_refusal(_evaluation(0.597, 0.597), helps=True) is not None  # a tie: no
    noisy = reranker_refusal(_evaluation(0.597, 0.610, noise=0.5), helps=True)
    assert noisy is not None and "interval" in noisy  # +0.013 on average, within the noise
    no_questions: dict[str, Any] = {"query_sets": {"eval pairs": {"metrics": {}}}}
    assert reranker_refusal(no_questions, helps=True) is None
    assert "eval queries" in (reranker_refusal(no_questions, helps=False) or "")
    assert reranker_refusal(no_questions, helps=None) is None  # a team's own cross-encoder
