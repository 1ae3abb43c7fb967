"""`edgembed models`: what can be used here, described the same way, and what cannot, and why."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from edgembed.cli.main import cli
from tests.conftest import TINY_EXPORT


def test_models_lists_bundled_workspace_and_named_folders(
    tmp_path: Path, tiny_cls_model: Path
) -> None:
    workspace = tmp_path / "ws"
    shutil.copytree(tiny_cls_model, workspace / "models" / "tuned")
    shutil.copytree(TINY_EXPORT, workspace / "exports" / "tiny")
    broken = tmp_path / "more" / "broken"
    broken.mkdir(parents=True)
    (broken / "config.json").write_text("{}")
    runner = CliRunner()
    result = runner.invoke(cli, ["--workspace", str(workspace), "models", str(tmp_path / "more")])
    assert result.exit_code == 0, result.output
    assert "bundled:all-MiniLM-L6-v2" in result.output and "384" in result.output
    assert "cannot be used" in result.output and "no modules.json" in result.output
    listed = runner.invoke(cli, ["--workspace", str(workspace), "models", "--json"])
    entries = {Path(e["name"]).name: e for e in json.loads(listed.output)}
    assert entries["tuned"]["source"] == "trained" and entries["tuned"]["model"]["pooling"] == "cls"
    assert entries["tiny"]["source"] == "export" and entries["tiny"]["model"]["dimension"] == 32


def test_a_folder_that_does_not_exist_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["models", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "does not exist" in result.output
