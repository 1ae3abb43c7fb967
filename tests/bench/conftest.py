"""A small real workspace (chunks, eval pairs, real questions) with a real tiny-model export."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from edgembed.cli.main import cli
from edgembed.config import ExportConfig
from edgembed.workspace import Workspace
from tests.conftest import SAMPLE_DOCS

DOCS = ("pto_policy.md", "code_of_conduct.md", "sick_leave_and_bereavement.md")


@pytest.fixture(scope="session")
def bench_workspace(tiny_mean_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """chunks.jsonl + pairs.eval.jsonl (ict) of three sample documents, questions.jsonl about
    them, and exports/tiny (fp32 + int8) of the tiny mean-pooled model."""
    from edgembed.exporter import export_model

    root = tmp_path_factory.mktemp("bench")
    docs = root / "docs"
    docs.mkdir()
    for name in DOCS:
        shutil.copy(SAMPLE_DOCS / name, docs / name)
    workspace = Workspace(root / "ws")
    result = CliRunner().invoke(
        cli, ["-q", "--workspace", str(workspace.root), "generate", str(docs)]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (SAMPLE_DOCS / "questions.jsonl").read_text().splitlines()]
    kept = [row for row in rows if row.get("doc") in DOCS]
    (workspace.root / "questions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in kept))
    config = ExportConfig(
        model=str(tiny_mean_model), name="tiny", parity_texts=10, accept_parity_loss=True
    )
    export_model(config, workspace)
    return workspace


@pytest.fixture(scope="session")
def tiny_bench_export(bench_workspace: Workspace) -> Path:
    return bench_workspace.exports / "tiny"
