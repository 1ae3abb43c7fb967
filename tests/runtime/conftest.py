"""One real export of the tiny mean-pooled model, and fresh copies of it to damage."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from edgembed.config import ExportConfig
from edgembed.workspace import Workspace


@pytest.fixture(scope="session")
def tiny_export(tiny_mean_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An fp32 + int8 export folder of the tiny mean-pooled model (made by the real exporter)."""
    from edgembed.exporter import export_model

    workspace = Workspace(tmp_path_factory.mktemp("runtime-ws"))
    return export_model(ExportConfig(model=str(tiny_mean_model)), workspace).out


@pytest.fixture()
def export_copy(tiny_export: Path, tmp_path: Path) -> Path:
    """A copy of the tiny export that a test may change."""
    copy = tmp_path / "export"
    shutil.copytree(tiny_export, copy)
    return copy
