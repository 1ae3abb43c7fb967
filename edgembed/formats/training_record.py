"""edgembed_training.json: what `train` writes into a model folder about how it was made.

Its base model, the data and settings it was trained on, the held-out figures of every epoch
and of the saved model. `evaluate` reads the base model from it, `export` copies it into the
manifest, `models` lists it. Files written before the record had a version read as version 1.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edgembed.atomic import write_json

__all__ = ["FORMAT_VERSION", "TRAINING_RECORD", "TrainingRecord", "read_training_record"]

log = logging.getLogger(__name__)

TRAINING_RECORD = "edgembed_training.json"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class TrainingRecord:
    """How a model was trained and how it scored on the held-out eval pairs.

    Attributes:
        base_model: the model it was fine-tuned from, as it was named (``bundled:...``, a
            folder, a hub id).
        base_model_path: that model's folder.
        config: the TrainConfig it ran with, as JSON.
        device: where it trained (cpu, cuda).
        max_seq_length: its token window.
        data: counts of chunks, training pairs and eval pairs.
        metric: the held-out metric that picked the best epoch.
        base: the base model's held-out figures.
        epochs: each epoch's held-out figures.
        best_epoch, best_ndcg_at_10: the epoch kept and its NDCG@10.
        base_ndcg_at_10: the base model's NDCG@10.
        finetuned_weight, saved, saved_ndcg_at_10: the saved model (the best epoch averaged
            with the base model) and its figures.
        train_seconds: time spent training.
        usage: what logged queries and marks added (empty without them).
        time_budget: the time budget's plan (None without one).
        lineage: where the training data came from beyond the workspace's pairs (e.g. the
            marks an `improve` run trained on); empty for a plain `train`.
    """

    base_model: str
    base_model_path: str
    config: Mapping[str, Any]
    device: str
    max_seq_length: int
    data: Mapping[str, int]
    metric: str
    base: Mapping[str, float]
    epochs: tuple[Mapping[str, Any], ...]
    best_epoch: float
    best_ndcg_at_10: float
    base_ndcg_at_10: float
    finetuned_weight: float
    saved: Mapping[str, float]
    saved_ndcg_at_10: float
    train_seconds: float
    usage: Mapping[str, Any] = field(default_factory=dict)
    time_budget: Mapping[str, Any] | None = None
    lineage: Mapping[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def to_json(self) -> dict[str, Any]:
        """The record as written to edgembed_training.json."""
        data = asdict(self)
        data["epochs"] = [dict(epoch) for epoch in self.epochs]
        return data

    def write(self, folder: Path) -> None:
        """Write FOLDER/edgembed_training.json atomically."""
        write_json(folder / TRAINING_RECORD, self.to_json())

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TrainingRecord:
        """Parse a record.

        Raises:
            ValueError: a field is missing or of the wrong type, or the version is unknown.
        """
        version = data.get("format_version", 1)
        if version != FORMAT_VERSION:
            raise ValueError(f"format version {version}; this edgembed reads {FORMAT_VERSION}")
        names = set(cls.__dataclass_fields__)
        values = {key: value for key, value in data.items() if key in names}
        missing = [
            name for name in ("base_model", "metric", "saved_ndcg_at_10") if name not in values
        ]
        if missing or not isinstance(values.get("base_model"), str):
            raise ValueError(f"missing or bad fields: {missing or ['base_model']}")
        values["epochs"] = tuple(values.get("epochs", ()))
        values.setdefault("usage", {})
        values["usage"] = values["usage"] or {}
        values.setdefault("lineage", {})
        try:
            return cls(**values)
        except TypeError as exc:
            raise ValueError(str(exc)) from exc


def read_training_record(model_dir: Path) -> TrainingRecord | None:
    """What `train` wrote about the model in `model_dir`, or None when it wrote nothing (a
    model edgembed did not train) or the file cannot be read (logged)."""
    path = model_dir / TRAINING_RECORD
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        return TrainingRecord.from_json(data)
    except (OSError, ValueError) as exc:  # JSONDecodeError is a ValueError
        log.warning("ignoring %s: %s", path, exc)
        return None
