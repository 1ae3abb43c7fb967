"""Describing a model folder without loading it: pooling in both config layouts, prompts,
kinds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgembed.errors import ModelError
from edgembed.models import read_pooling

POOLING_MODULE = [{"idx": 1, "name": "1", "path": "1_Pooling", "type": "x.models.Pooling"}]


def _pooling_folder(tmp_path: Path, config: dict[str, object]) -> Path:
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps(config))
    return tmp_path


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"embedding_dimension": 32, "pooling_mode": "cls"}, "cls"),
        ({"embedding_dimension": 32, "pooling_mode": "mean"}, "mean"),
        ({"embedding_dimension": 32, "pooling_mode": ["mean"]}, "mean"),
        ({"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False}, "cls"),
        ({"pooling_mode_cls_token": False, "pooling_mode_mean_tokens": True}, "mean"),
    ],
)
def test_read_pooling_understands_new_and_old_layouts(
    tmp_path: Path, config: dict[str, object], expected: str
) -> None:
    assert read_pooling(_pooling_folder(tmp_path, config), POOLING_MODULE) == (expected, True)


@pytest.mark.parametrize(
    "config",
    [
        {"pooling_mode": ["mean", "cls"]},
        {"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": True},
        {},
    ],
)
def test_read_pooling_refuses_more_or_fewer_than_one_mode(
    tmp_path: Path, config: dict[str, object]
) -> None:
    with pytest.raises(ModelError, match="pool one way"):
        read_pooling(_pooling_folder(tmp_path, config), POOLING_MODULE)


def test_read_pooling_reads_every_mode_and_the_prompt_setting(tmp_path: Path) -> None:
    config = {"pooling_mode": "lasttoken", "include_prompt": False}
    assert read_pooling(_pooling_folder(tmp_path, config), POOLING_MODULE) == ("lasttoken", False)


def test_read_pooling_needs_a_pooling_module(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="0 Pooling modules"):
        read_pooling(tmp_path, [{"path": "", "type": "x.Transformer"}])
