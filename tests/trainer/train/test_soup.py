"""Weight averaging of two model folders (improve --soup)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from edgembed.errors import ModelError
from edgembed.trainer.train.soup import WEIGHTS, average_into


def _folder(root: Path, name: str, weights: dict[str, torch.Tensor]) -> Path:
    folder = root / name
    folder.mkdir()
    save_file(weights, folder / WEIGHTS)
    return folder


def _weights(scale: float) -> dict[str, torch.Tensor]:
    return {
        "layer.weight": torch.full((3, 4), scale),
        "layer.half": torch.full((2,), scale, dtype=torch.bfloat16),
        "position_ids": torch.arange(5) * int(scale),
    }


def test_floats_are_averaged_by_share_and_integers_kept(tmp_path: Path) -> None:
    mine = _folder(tmp_path, "candidate", _weights(4.0))
    older = {k: v for k, v in _weights(2.0).items() if k != "position_ids"}
    other = _folder(tmp_path, "service", older)
    average_into(mine, other, 0.25)
    mixed = load_file(mine / WEIGHTS)
    assert torch.equal(mixed["layer.weight"], torch.full((3, 4), 2.5))
    assert mixed["layer.half"].dtype == torch.bfloat16
    assert torch.equal(mixed["layer.half"], torch.full((2,), 2.5, dtype=torch.bfloat16))
    assert torch.equal(mixed["position_ids"], torch.arange(5) * 4)
    assert torch.equal(load_file(other / WEIGHTS)["layer.weight"], torch.full((3, 4), 2.0))
    assert [p.name for p in mine.iterdir()] == [WEIGHTS]


def test_different_architectures_are_refused_untouched(tmp_path: Path) -> None:
    mine = _folder(tmp_path, "candidate", _weights(4.0))
    wider = {**_weights(2.0), "layer.weight": torch.zeros(3, 5)}
    with pytest.raises(ModelError, match=r"different architectures .*at layer\.weight; 1 in all"):
        average_into(mine, _folder(tmp_path, "wider", wider), 0.5)
    fewer = {k: v for k, v in _weights(2.0).items() if k != "layer.half"}
    with pytest.raises(ModelError, match="at layer.half; 1 in all"):
        average_into(mine, _folder(tmp_path, "fewer", fewer), 0.5)
    assert torch.equal(load_file(mine / WEIGHTS)["layer.weight"], torch.full((3, 4), 4.0))


def test_a_folder_without_safetensors_is_refused(tmp_path: Path) -> None:
    mine = _folder(tmp_path, "candidate", _weights(4.0))
    (tmp_path / "bin").mkdir()
    with pytest.raises(ModelError, match="missing"):
        average_into(mine, tmp_path / "bin", 0.5)
