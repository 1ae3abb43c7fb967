"""Reading the model to export: pooling in both config layouts, names, training metrics."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from edgembed.errors import ExportError, ModelError
from edgembed.exporter.source import find_source
from edgembed.workspace import Workspace
from tests.conftest import make_training_record


def test_tiny_models_pool_as_built(tiny_mean_model: Path, tiny_cls_model: Path) -> None:
    ws = Workspace(tiny_mean_model.parent / "unused-ws")
    assert find_source(str(tiny_mean_model), ws).descriptor.pooling == "mean"
    cls = find_source(str(tiny_cls_model), ws)
    assert (cls.descriptor.pooling, cls.has_normalize, cls.name) == ("cls", True, "tiny-cls")
    assert cls.base_model is None and cls.evaluation is None


def test_bundled_minilm_uses_old_layout_and_its_own_name(bundled_minilm: Path) -> None:
    source = find_source("bundled:all-MiniLM-L6-v2", Workspace(Path("unused")))
    assert (source.name, source.descriptor.pooling, source.has_normalize) == (
        "all-MiniLM-L6-v2",
        "mean",
        True,
    )


def test_default_is_newest_trained_model_with_its_metrics(
    tiny_mean_model: Path, tiny_cls_model: Path, workspace: Workspace
) -> None:
    old = workspace.models / "older"
    new = workspace.models / "newer"
    shutil.copytree(tiny_mean_model, old)
    shutil.copytree(tiny_cls_model, new)
    record = make_training_record()
    record.write(new)
    os.utime(old, (1_000_000, 1_000_000))
    os.utime(new, (2_000_000, 2_000_000))
    source = find_source(None, workspace)
    assert source.path == new
    assert source.base_model == "bundled:all-MiniLM-L6-v2"
    assert source.evaluation == record.to_json()


def test_no_trained_model_says_what_to_do(workspace: Workspace) -> None:
    with pytest.raises(ModelError, match="edgembed train"):
        find_source(None, workspace)


def test_plain_hf_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ExportError, match="no modules.json"):
        find_source(str(tmp_path), Workspace(tmp_path))
