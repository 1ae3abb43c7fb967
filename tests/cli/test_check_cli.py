"""`edgembed check`: an export's int8 file checked on this CPU, and recorded when it holds."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import numpy_helper

from edgembed.cli.main import cli
from edgembed.formats.manifest import MANIFEST_NAME, read_manifest, sha256_file
from edgembed.runtime import OnnxEmbedder, OnnxReranker
from edgembed.runtime.cpu import this_cpu_int8_path

CPU = this_cpu_int8_path()
OTHER = "arm-dot" if CPU != "arm-dot" else "avx512-vnni"

pytestmark = pytest.mark.skipif(CPU == "unknown", reason="this CPU's int8 class is unknown")


def _manifest(export: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((export / MANIFEST_NAME).read_text())
    return data


def _validated_elsewhere(export: Path) -> None:
    """The export as if made on a CPU of another class than this one."""
    data = _manifest(export)
    data["files"]["model.int8.onnx"]["quantization"]["validated_isa"] = [OTHER]
    (export / MANIFEST_NAME).write_text(json.dumps(data))


def _check(export: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, ["check", str(export), *args])


def test_a_passed_check_is_recorded_and_serve_then_uses_int8(export_copy: Path) -> None:
    _validated_elsewhere(export_copy)
    assert OnnxEmbedder(export_copy).variant == "fp32"
    result = _check(export_copy)
    assert result.exit_code == 0, result.output
    assert f"recorded: `serve` uses int8 on {CPU}" in result.output
    assert read_manifest(export_copy).int8_validated_isa == (OTHER, CPU)
    checked = _manifest(export_copy)["files"]["model.int8.onnx"]["quantization"]["checked_on"][-1]
    assert checked["cpu"] == CPU and checked["texts"] == 52 and checked["cosine_mean"] >= 0.99
    assert OnnxEmbedder(export_copy).variant == "int8"  # checksums still hold, int8 served
    again = _check(export_copy)
    assert again.exit_code == 0 and "already validated; nothing to record" in again.output


def test_an_int8_file_that_computes_wrong_here_fails_and_nothing_is_recorded(
    export_copy: Path,
) -> None:
    """The check must see a damaged int8 file (what another CPU's arithmetic would compute) in
    the vectors."""
    _reverse_largest_int8_weights(export_copy)
    _validated_elsewhere(export_copy)
    before = (export_copy / MANIFEST_NAME).read_bytes()
    result = _check(export_copy)
    assert result.exit_code == 1
    assert "under 0.99" in result.output and "Nothing was recorded" in result.output
    assert (export_copy / MANIFEST_NAME).read_bytes() == before


def test_no_record_and_a_higher_floor(export_copy: Path) -> None:
    _validated_elsewhere(export_copy)
    before = (export_copy / MANIFEST_NAME).read_bytes()
    kept = _check(export_copy, "--no-record")
    assert kept.exit_code == 0 and "not recorded: --no-record" in kept.output
    assert _check(export_copy, "--min-cosine", "1.0").exit_code == 1
    assert (export_copy / MANIFEST_NAME).read_bytes() == before


def test_texts_from_a_workspace_chunks_file(export_copy: Path, tmp_path: Path) -> None:
    _validated_elsewhere(export_copy)
    chunks = tmp_path / "chunks.jsonl"
    chunks.write_text("".join(json.dumps({"id": f"c{i}", "text": f"passage {i} about leave"})
                              + "\n" for i in range(7)))  # fmt: skip
    result = _check(export_copy, "--texts", str(chunks), "--no-record")
    assert result.exit_code == 0, result.output
    assert f"7 ({chunks})" in result.output
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    refused = _check(export_copy, "--texts", str(empty))
    assert refused.exit_code == 1 and "holds no texts" in refused.output


def test_an_export_without_int8_says_there_is_nothing_to_check(export_copy: Path) -> None:
    data = _manifest(export_copy)
    del data["files"]["model.int8.onnx"]
    (export_copy / MANIFEST_NAME).write_text(json.dumps(data))
    (export_copy / "model.int8.onnx").unlink()
    result = _check(export_copy)
    assert result.exit_code == 1 and "has no int8 model" in result.output


def test_an_export_from_before_the_cpu_record_is_left_as_it_is(export_copy: Path) -> None:
    """Without validated_isa, serve uses int8 on every CPU; recording one kind would take it
    from the others."""
    data = _manifest(export_copy)
    del data["files"]["model.int8.onnx"]["quantization"]["validated_isa"]
    (export_copy / MANIFEST_NAME).write_text(json.dumps(data))
    before = (export_copy / MANIFEST_NAME).read_bytes()
    result = _check(export_copy)
    assert result.exit_code == 0 and "predates the CPU record" in result.output
    assert (export_copy / MANIFEST_NAME).read_bytes() == before


@pytest.fixture(scope="module")
def reranker_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The zoo's tiny cross-encoder exported with its int8 file (checked on built-in texts)."""
    from edgembed.config import ExportConfig
    from edgembed.exporter import export_model
    from edgembed.workspace import Workspace
    from tests.zoo import build

    root = tmp_path_factory.mktemp("reranker-check")
    model = build("cross-encoder", root)
    result = export_model(ExportConfig(model=str(model), out=root / "export"), Workspace(root))
    assert result.int8_kept, "the check needs an int8 file to check"
    return result.out


@pytest.fixture()
def reranker_copy(reranker_export: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(reranker_export, tmp_path / "reranker"))


def _reverse_largest_int8_weights(export: Path) -> None:
    """A damaged int8 file with honest checksums: what a CPU whose int8 arithmetic differs
    would compute."""
    path = export / "model.int8.onnx"
    model = onnx.load(str(path))
    weights = max(
        (t for t in model.graph.initializer if t.data_type in (onnx.TensorProto.INT8,
                                                               onnx.TensorProto.UINT8)),
        key=lambda t: int(np.prod(t.dims)),
    )  # fmt: skip
    values = numpy_helper.to_array(weights)
    weights.CopyFrom(numpy_helper.from_array(values[::-1].copy(), weights.name))
    onnx.save(model, str(path))
    data = _manifest(export)
    data["files"]["model.int8.onnx"]["sha256"] = sha256_file(path)
    data["files"]["model.int8.onnx"]["bytes"] = path.stat().st_size
    (export / MANIFEST_NAME).write_text(json.dumps(data))


def test_a_reranker_is_checked_on_its_scores_and_then_served_in_int8(reranker_copy: Path) -> None:
    _validated_elsewhere(reranker_copy)
    assert OnnxReranker(reranker_copy).variant == "fp32"
    result = _check(reranker_copy)
    assert result.exit_code == 0, result.output
    assert "mean Pearson of a query's scores" in result.output
    assert f"recorded: `serve` uses int8 on {CPU}" in result.output
    checked = _manifest(reranker_copy)["files"]["model.int8.onnx"]["quantization"]["checked_on"]
    # 8 built-in questions, each scoring the 44 built-in texts that are not questions
    assert checked[-1]["pairs"] == 8 * 44 and checked[-1]["pearson_mean"] >= 0.99
    assert "cosine_mean" not in checked[-1]
    assert OnnxReranker(reranker_copy).variant == "int8"


def test_a_reranker_whose_int8_scores_differ_here_fails(
    reranker_copy: Path, tmp_path: Path
) -> None:
    _reverse_largest_int8_weights(reranker_copy)
    _validated_elsewhere(reranker_copy)
    before = (reranker_copy / MANIFEST_NAME).read_bytes()
    result = _check(reranker_copy)
    assert result.exit_code == 1, result.output
    assert "mean Pearson correlation of a query's scores" in result.output
    assert "Nothing was recorded" in result.output
    assert (reranker_copy / MANIFEST_NAME).read_bytes() == before
    one = tmp_path / "one.txt"
    one.write_text("a single passage\n")
    refused = _check(reranker_copy, "--texts", str(one))
    assert refused.exit_code == 1 and "at least two passages" in refused.output
