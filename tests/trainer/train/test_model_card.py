from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from edgembed.config import TrainConfig
from edgembed.trainer.train.model_card import write_model_card


def _metrics() -> dict[str, Any]:
    config = TrainConfig(epochs=2)
    return {
        "base_model": config.base_model,
        "config": {**asdict(config), "matryoshka_dims": []},
        "device": "cpu",
        "data": {"chunks": 8, "train_pairs": 12, "eval_pairs": 2},
        "metric": "ndcg_at_10",
        "epochs": [{"epoch": 1.0, "ndcg_at_10": 0.61}, {"epoch": 2.0, "ndcg_at_10": 0.66}],
        "best_epoch": 2.0,
        "base_ndcg_at_10": 0.5,
        "finetuned_weight": 0.5,
        "saved_ndcg_at_10": 0.64,
        "train_seconds": 3.2,
    }


def _table(card: str) -> list[str]:
    """The rows of the NDCG@10 table as a markdown reader sees it: contiguous `|` lines."""
    lines = card.splitlines()
    start = lines.index("| epoch | NDCG@10 |")
    rows: list[str] = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows


def test_the_saved_row_belongs_to_the_epoch_table(tmp_path: Path) -> None:
    write_model_card(tmp_path, _metrics())
    rows = _table((tmp_path / "README.md").read_text())
    assert rows[2:] == [
        "| base | 0.5000 |",
        "| 1 | 0.6100 |",
        "| 2 | 0.6600 |",
        "| saved | 0.6400 |",
    ]
