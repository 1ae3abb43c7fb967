"""manifest.json: round trip, and clear refusals of folders that are not whole exports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from edgembed.errors import ManifestError
from edgembed.formats.manifest import MANIFEST_NAME, Manifest, read_manifest, verify_file


def _data(export: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((export / MANIFEST_NAME).read_text())
    return data


def _write(export: Path, data: dict[str, Any]) -> None:
    (export / MANIFEST_NAME).write_text(json.dumps(data))


def test_round_trip(tiny_export: Path) -> None:
    manifest = read_manifest(tiny_export)
    assert Manifest.from_json(manifest.to_json()) == manifest
    assert manifest.to_json() == _data(tiny_export)


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="does not exist.*edgembed export"):
        read_manifest(tmp_path / "nope")


def test_wrong_folder_has_no_manifest(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="not an edgembed export"):
        read_manifest(tmp_path)


def test_unreadable_manifest(export_copy: Path) -> None:
    (export_copy / MANIFEST_NAME).write_text("{not json")
    with pytest.raises(ManifestError, match="cannot be read"):
        read_manifest(export_copy)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format_version": 99}, "format version 99"),
        ({"format_version": None}, "no format_version"),
        ({"model": {"kind": "embedder"}}, "bad model description"),
        ({"model": None}, "'model' is missing or not a dict"),
        ({"inputs": ["pixel_values"]}, "unsupported graph inputs"),
        ({"files": {"../model.onnx": {"sha256": "x", "bytes": 1}}}, "bad entry"),
    ],
)
def test_bad_fields_are_refused(export_copy: Path, change: dict[str, Any], message: str) -> None:
    _write(export_copy, {**_data(export_copy), **change})
    with pytest.raises(ManifestError, match=message):
        read_manifest(export_copy)


def test_missing_variant_names_the_ones_there(export_copy: Path) -> None:
    data = _data(export_copy)
    del data["files"]["model.int8.onnx"]
    _write(export_copy, data)
    with pytest.raises(ManifestError, match="no int8 model.*holds: fp32"):
        read_manifest(export_copy).model_file("int8")


def test_verify_file_catches_changes_and_gaps(export_copy: Path) -> None:
    manifest = read_manifest(export_copy)
    entry = manifest.model_file("fp32")
    assert verify_file(export_copy, entry) == export_copy / "model.onnx"
    with (export_copy / "model.onnx").open("r+b") as handle:
        handle.seek(100)
        handle.write(b"\x00\x01\x02\x03")
    with pytest.raises(ManifestError, match="does not match the sha256"):
        verify_file(export_copy, entry)
    (export_copy / "model.onnx").unlink()
    with pytest.raises(ManifestError, match="missing: the export is incomplete"):
        verify_file(export_copy, entry)


def test_a_format_1_manifest_reads_as_a_plain_embedder() -> None:
    old = json.loads((Path(__file__).parents[1] / "fixtures" / "manifest-v1.json").read_text())
    manifest = Manifest.from_json(old)
    assert manifest.format_version == 1 and manifest.kind == "embedder"
    assert (manifest.dimension, manifest.max_seq_length, manifest.model.pooling) == (
        32,
        128,
        "mean",
    )
    assert manifest.model.prompts == {} and manifest.model.resolve_prompt("query") is None
    assert Manifest.from_json(manifest.to_json()).model == manifest.model  # written as format 2
