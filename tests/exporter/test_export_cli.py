"""`edgembed export` through click: success, the default model, and every way it can refuse."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import edgembed.exporter.parity as parity_module
from edgembed.cli.main import cli
from edgembed.formats.manifest import read_manifest


def _export(workspace: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--workspace", str(workspace), "-q", "export", *args])


def _export_verbose(workspace: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--workspace", str(workspace), "export", *args])


def test_exports_a_model_folder_and_prints_the_parity_table(
    tiny_mean_model: Path, tmp_path: Path
) -> None:
    result = _export_verbose(tmp_path, str(tiny_mean_model), "--name", "tiny")
    assert result.exit_code == 0, result.output
    assert "per-channel" in result.output and "cos min" in result.output
    assert "int8 kept" in result.output
    assert "int8 was judged without real questions" in result.output  # and how to give them
    manifest = read_manifest(tmp_path / "exports" / "tiny")
    assert manifest.name == "tiny" and manifest.variants == ("fp32", "int8")


def test_real_questions_decide_the_gate(tiny_mean_model: Path, tmp_path: Path) -> None:
    from edgembed.corpus import Chunk, write_chunks
    from edgembed.workspace import Workspace

    write_chunks(
        Workspace(tmp_path).chunks,
        [Chunk(f"c{i}", "d.md", "t", "", f"passage number {i}", 3, i) for i in range(12)],
    )
    questions = tmp_path / "questions.jsonl"
    rows = [{"question": f"what is passage {i}?", "chunk_id": f"c{i}"} for i in range(12)]
    questions.write_text("".join(json.dumps(row) + "\n" for row in rows))
    args = [str(tiny_mean_model), "--name", "tiny", "--questions", str(questions)]
    result = _export_verbose(tmp_path, *args, "--accept-parity-loss")
    assert result.exit_code == 0, result.output
    assert f"parity on 12 queries, 12 passages ({questions}" in result.output
    assert "without real questions" not in result.output
    texts = read_manifest(tmp_path / "exports" / "tiny").parity["texts"]
    assert (texts["queries"], texts["short"]) == (12, 20)


def test_default_model_is_the_newest_trained_one(tiny_cls_model: Path, tmp_path: Path) -> None:
    shutil.copytree(tiny_cls_model, tmp_path / "models" / "my-model")
    result = _export(tmp_path, "--no-quantize")
    assert result.exit_code == 0, result.output
    manifest = read_manifest(tmp_path / "exports" / "my-model")
    assert manifest.variants == ("fp32",) and manifest.model.pooling == "cls"


def test_second_export_needs_force(tiny_cls_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "elsewhere"
    assert _export(tmp_path, str(tiny_cls_model), "--no-quantize", "--out", str(out)).exit_code == 0
    again = _export(tmp_path, str(tiny_cls_model), "--no-quantize", "--out", str(out))
    assert again.exit_code == 1 and "--force" in again.output
    forced = _export(tmp_path, str(tiny_cls_model), "--no-quantize", "--out", str(out), "--force")
    assert forced.exit_code == 0, forced.output


@pytest.mark.slow
def test_failed_gate_exits_non_zero_and_says_why(
    tiny_mean_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parity_module, "GATE_MEAN_COSINE", 1.01)
    monkeypatch.setattr(parity_module, "TARGET_MEAN_COSINE", 1.01)
    result = _export(tmp_path, str(tiny_mean_model))
    assert result.exit_code == 1
    assert "fails" in result.output and "--accept-parity-loss" in result.output
    assert "fp32 model only" in result.output
    assert read_manifest(tmp_path / "exports" / "tiny-mean").variants == ("fp32",)


@pytest.mark.slow
def test_prints_the_recipes_tried_and_the_sensitivity_ranking(
    tiny_mean_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parity_module, "TARGET_MEAN_COSINE", 1.01)  # every recipe is tried
    result = _export_verbose(tmp_path, str(tiny_mean_model))
    assert result.exit_code == 0, result.output
    for recipe in (
        "per-channel ",
        "per-channel-ffn-split",
        "per-channel-ffn-fp32-1of2",
        "per-channel-ffn-fp32 ",
    ):
        assert recipe in result.output
    ranking = result.output.split("most sensitive first): ")[1].splitlines()[0]
    assert sorted(ranking.split(", ")[i].split(" (")[0] for i in range(2)) == [
        "layer 0",
        "layer 1",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "no trained model"),
        (["no/such/model/here"], "not found"),
        (["./missing-folder"], "not found"),
    ],
)
def test_missing_model_is_a_clear_error(tmp_path: Path, args: list[str], message: str) -> None:
    result = _export(tmp_path, *args)
    assert result.exit_code == 1 and message in result.output
    assert not (tmp_path / "exports").exists()


def test_a_folder_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    result = _export(tmp_path, str(tmp_path / "docs"))
    assert result.exit_code == 1 and "not a model folder" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["--isa", "sse2"],
        ["--parity-texts", "5"],
        ["--name", "a/b", "x"],
        ["--questions", "missing.jsonl"],
    ],
)
def test_bad_options_are_usage_errors(tmp_path: Path, args: list[str]) -> None:
    result = _export(tmp_path, *args)
    assert result.exit_code != 0
    assert "Error" in result.output


def test_help_teaches_the_gate() -> None:
    result = CliRunner().invoke(cli, ["export", "--help"])
    assert result.exit_code == 0
    assert "NDCG@10" in result.output and "--accept-parity-loss" in result.output
