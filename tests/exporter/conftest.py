"""Exports of the tiny models, made once per session with the real exporter."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgembed.config import ExportConfig
from edgembed.exporter import ExportResult, export_model
from edgembed.workspace import Workspace


@pytest.fixture(scope="session")
def tiny_exports(
    tiny_models: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, ExportResult]:
    """{'mean': ..., 'cls': ...}: fp32 + int8 exports checked on the built-in sentences."""
    workspace = Workspace(tmp_path_factory.mktemp("export-ws"))
    return {
        pooling: export_model(ExportConfig(model=str(path)), workspace)
        for pooling, path in tiny_models.items()
    }


@pytest.fixture()
def workspace(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "ws")
