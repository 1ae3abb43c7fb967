"""edgembed_training.json: one typed record, written by train, read by evaluate and export."""

from __future__ import annotations

import json
from pathlib import Path

from edgembed.formats.training_record import TRAINING_RECORD, read_training_record
from tests.conftest import make_training_record


def test_a_record_reads_back_as_written(tmp_path: Path) -> None:
    make_training_record().write(tmp_path)
    assert read_training_record(tmp_path) == make_training_record()
    assert json.loads((tmp_path / TRAINING_RECORD).read_text())["format_version"] == 1


def test_a_record_from_before_the_version_field_still_reads(tmp_path: Path) -> None:
    old = make_training_record().to_json()
    del old["format_version"], old["lineage"]
    (tmp_path / TRAINING_RECORD).write_text(json.dumps(old))
    assert read_training_record(tmp_path) == make_training_record()


def test_no_record_or_a_bad_one_is_none(tmp_path: Path) -> None:
    assert read_training_record(tmp_path) is None
    (tmp_path / TRAINING_RECORD).write_text('{"base_model": 3}')
    assert read_training_record(tmp_path) is None
    newer = {**make_training_record().to_json(), "format_version": 2}
    (tmp_path / TRAINING_RECORD).write_text(json.dumps(newer))
    assert read_training_record(tmp_path) is None
