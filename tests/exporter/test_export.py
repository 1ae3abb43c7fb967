"""export_model on the tiny mean- and CLS-pooled models: golden parity, the folder, the gate."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest

import edgembed.exporter.int8_search as int8_search
import edgembed.exporter.parity as parity_module
from edgembed.config import ExportConfig
from edgembed.corpus import Chunk, write_chunks
from edgembed.errors import ExportError, ManifestError, OutputExistsError
from edgembed.evaluation.texts import BUILTIN_TEXTS
from edgembed.exporter import ExportResult, export_model
from edgembed.exporter.parity import Int8GateResult, VariantParity
from edgembed.formats.manifest import MANIFEST_NAME, read_manifest, sha256_file
from edgembed.formats.pairs import Pair, write_pairs
from edgembed.runtime import OnnxEmbedder
from edgembed.runtime.cpu import this_cpu_int8_path
from edgembed.workspace import Workspace

POOLINGS = ("mean", "cls")


def _pytorch(model_dir: Path, texts: list[str]) -> np.ndarray:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    return model.encode(texts, convert_to_numpy=True, show_progress_bar=False)


@pytest.mark.parametrize("pooling", POOLINGS)
def test_fp32_matches_pytorch_exactly(
    pooling: str, tiny_exports: dict[str, ExportResult], tiny_models: dict[str, Path]
) -> None:
    texts = list(BUILTIN_TEXTS)
    expected = _pytorch(tiny_models[pooling], texts)
    got = OnnxEmbedder(tiny_exports[pooling].out, variant="fp32").embed(texts, batch_size=5)
    np.testing.assert_allclose(got, expected, atol=1e-5)


@pytest.mark.parametrize("pooling", POOLINGS)
def test_int8_stays_close_to_pytorch(
    pooling: str, tiny_exports: dict[str, ExportResult], tiny_models: dict[str, Path]
) -> None:
    texts = list(BUILTIN_TEXTS)
    expected = _pytorch(tiny_models[pooling], texts)
    got = OnnxEmbedder(tiny_exports[pooling].out, variant="int8").embed(texts)
    cosine = (got * expected).sum(axis=1)
    assert cosine.min() > 0.99
    result = tiny_exports[pooling]
    assert result.int8_kept and result.gate is not None and result.gate.passed


def test_pooling_is_the_models_own(tiny_exports: dict[str, ExportResult]) -> None:
    mean = OnnxEmbedder(tiny_exports["mean"].out, variant="fp32").embed(["same text"])
    cls = OnnxEmbedder(tiny_exports["cls"].out, variant="fp32").embed(["same text"])
    assert tiny_exports["mean"].manifest.model.pooling == "mean"
    assert tiny_exports["cls"].manifest.model.pooling == "cls"
    assert float((mean * cls).sum()) < 0.99


def test_manifest_describes_the_folder(tiny_exports: dict[str, ExportResult]) -> None:
    result = tiny_exports["cls"]
    manifest = read_manifest(result.out)
    assert manifest == result.manifest
    assert (manifest.name, manifest.dimension, manifest.max_seq_length) == ("tiny-cls", 32, 128)
    assert manifest.model.normalize and not manifest.normalize_added
    assert manifest.inputs == ("input_ids", "attention_mask", "token_type_ids")
    assert manifest.output == "sentence_embedding"
    assert manifest.variants == ("fp32", "int8")
    for entry in manifest.files:
        assert sha256_file(result.out / entry.path) == entry.sha256
    quantization = manifest.model_file("int8").quantization or {}
    assert quantization["recipe"] == "per-channel" and quantization["per_channel"] is True
    assert quantization["validated_isa"] == [this_cpu_int8_path()]  # checked here, only here
    assert [p.recipe for p in result.int8_tried] == ["per-channel"]  # on target: no 2nd try
    assert set(manifest.parity) >= {"texts", "fp32", "int8", "gate", "int8_kept"}
    assert sorted(p.name for p in result.out.iterdir()) == [
        MANIFEST_NAME,
        "model.int8.onnx",
        "model.onnx",
        "tokenizer.json",
    ]
    assert not list(result.out.parent.glob(".*"))  # no staging or old folder left behind


def test_graph_has_dynamic_batch_and_sequence(tiny_exports: dict[str, ExportResult]) -> None:
    graph = onnx.load(str(tiny_exports["mean"].out / "model.onnx")).graph
    for tensor in graph.input:
        dims = tensor.type.tensor_type.shape.dim
        assert [d.dim_param for d in dims] == ["batch", "sequence"]
    (output,) = graph.output
    assert output.name == "sentence_embedding"
    assert output.type.tensor_type.shape.dim[0].dim_param == "batch"


@pytest.mark.slow
def test_eval_pairs_decide_the_gate_on_ndcg(tiny_mean_model: Path, tmp_path: Path) -> None:
    # Queries that repeat their passage word for word. The eval pairs' task takes a query's
    # sentence out of its passage (as evaluate does), so even these are not a lookup.
    workspace = Workspace(tmp_path / "ws")
    workspace.root.mkdir()
    texts = [f"passage number {i} about {word}" for i, word in enumerate(BUILTIN_TEXTS[:20])]
    write_chunks(
        workspace.chunks, [Chunk(f"c{i}", "d", "t", "", t, 5, i) for i, t in enumerate(texts)]
    )
    write_pairs(
        workspace.pairs_eval,
        [Pair(t, f"c{i}", t, "d", "ict", "ict", "none") for i, t in enumerate(texts[:8])],
    )
    result = export_model(ExportConfig(model=str(tiny_mean_model)), workspace)
    parity = result.manifest.parity
    assert parity["texts"]["queries"] == 8 and parity["texts"]["passages"] == 20
    assert 0 < parity["pytorch"]["ndcg_at_10"] < 1
    assert parity["fp32"]["ndcg_ratio"] == pytest.approx(1.0)
    assert result.gate is not None and result.gate.metric == "ndcg_ratio"


@pytest.mark.slow
def test_failed_gate_keeps_a_valid_fp32_export(
    tiny_mean_model: Path, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parity_module, "GATE_MEAN_COSINE", 1.01)  # nothing can pass
    monkeypatch.setattr(parity_module, "TARGET_MEAN_COSINE", 1.01)
    result = export_model(ExportConfig(model=str(tiny_mean_model)), workspace)
    assert result.int8_rejected and not result.int8_kept
    assert [p.recipe for p in result.int8_tried] == [
        "per-channel",
        "per-channel-ffn-split",
        "per-channel-ffn-fp32-1of2",
        "per-channel-ffn-fp32",
    ]
    assert result.manifest.variants == ("fp32",)
    assert not (result.out / "model.int8.onnx").exists()
    assert result.manifest.parity["gate"]["passed"] is False
    assert OnnxEmbedder(result.out, variant="fp32").embed(["still serves"]).shape == (1, 32)
    with pytest.raises(ManifestError, match="int8 was left out at export"):
        OnnxEmbedder(result.out, variant="int8")


@pytest.mark.slow
def test_accept_parity_loss_keeps_the_best_int8(
    tiny_mean_model: Path, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parity_module, "GATE_MEAN_COSINE", 1.01)
    monkeypatch.setattr(parity_module, "TARGET_MEAN_COSINE", 1.01)
    config = ExportConfig(model=str(tiny_mean_model), accept_parity_loss=True)
    result = export_model(config, workspace)
    assert result.int8_kept and not result.int8_rejected
    assert result.manifest.parity["accepted_parity_loss"] is True
    best = max(result.int8_tried, key=lambda p: p.cosine_mean)
    assert result.int8 == best
    assert (result.manifest.model_file("int8").quantization or {})["recipe"] == best.recipe


@pytest.mark.slow
def test_search_keeps_the_most_sensitive_projections_in_fp32_first(
    tiny_mean_model: Path, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_gate = parity_module.int8_gate

    def gate_met_by_one_fp32_projection(parity: VariantParity) -> Int8GateResult:
        verdict = real_gate(parity)
        met = parity.recipe == "per-channel-ffn-fp32-1of2"
        return replace(verdict, passed=met, meets_target=met)

    monkeypatch.setattr(int8_search, "int8_gate", gate_met_by_one_fp32_projection)
    quantized: list[str] = []
    real_quantize = int8_search.quantize_int8

    def counting_quantize(*args: Any) -> Any:
        quantized.append(args[3].name)
        return real_quantize(*args)

    monkeypatch.setattr(int8_search, "quantize_int8", counting_quantize)
    result = export_model(ExportConfig(model=str(tiny_mean_model)), workspace)
    # all-int8 and the split feed-forwards miss, the two projections are ranked, the first
    # ladder step is kept.
    assert [p.recipe for p in result.int8_tried] == [
        "per-channel",
        "per-channel-ffn-split",
        "per-channel-ffn-fp32-1of2",
    ]
    # The first ladder step is the top probe's recipe: reused, not quantized a second time.
    assert quantized == ["per-channel", "per-channel-ffn-split"] + ["per-channel-ffn-fp32-1of2"] * 2
    ranked = result.sensitivity
    assert sorted(s.layer for s in ranked) == [0, 1]
    assert ranked[0].closeness >= ranked[1].closeness
    quantization = result.manifest.model_file("int8").quantization or {}
    assert quantization["fp32_nodes"] == [ranked[0].node]
    assert [s["layer"] for s in result.manifest.parity["ffn_sensitivity"]] == [
        s.layer for s in ranked
    ]
    assert result.int8_kept and result.int8 is not None
    assert result.int8.recipe == "per-channel-ffn-fp32-1of2"
    assert sorted(p.name for p in result.out.iterdir() if p.name.startswith(".")) == []


@pytest.mark.slow
def test_a_recipe_that_meets_the_target_beats_one_that_only_passes_the_gate(
    tiny_mean_model: Path, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_gate = parity_module.int8_gate

    def all_int8_passes_with_more_ndcg_but_misses_the_cosine_target(
        parity: VariantParity,
    ) -> Int8GateResult:
        verdict = real_gate(parity)
        if parity.recipe == "per-channel":
            return replace(verdict, passed=True, meets_target=False, value=1.0)
        return replace(verdict, passed=True, meets_target=True, value=0.995)

    monkeypatch.setattr(
        int8_search, "int8_gate", all_int8_passes_with_more_ndcg_but_misses_the_cosine_target
    )
    result = export_model(ExportConfig(model=str(tiny_mean_model)), workspace)
    assert [p.recipe for p in result.int8_tried] == ["per-channel", "per-channel-ffn-split"]
    assert result.int8 is not None and result.int8.recipe == "per-channel-ffn-split"
    assert result.gate is not None and result.gate.meets_target
    quantization = result.manifest.model_file("int8").quantization or {}
    assert quantization["recipe"] == "per-channel-ffn-split"
    assert quantization["ffn_split"]["feed_forwards"] == 2


def test_refuses_to_overwrite_without_force(tiny_cls_model: Path, workspace: Workspace) -> None:
    config = ExportConfig(model=str(tiny_cls_model), quantize=False)
    first = export_model(config, workspace)
    with pytest.raises(OutputExistsError, match="--force"):
        export_model(config, workspace)
    again = export_model(
        ExportConfig(model=str(tiny_cls_model), quantize=False, force=True), workspace
    )
    assert again.out == first.out and again.manifest.variants == ("fp32",)
    assert not list(workspace.exports.glob(".*"))


def test_force_never_replaces_a_folder_that_is_not_an_export(
    tiny_cls_model: Path, tmp_path: Path
) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    config = ExportConfig(model=str(tiny_cls_model), out=precious, force=True, quantize=False)
    with pytest.raises(OutputExistsError, match="not an edgembed export"):
        export_model(config, Workspace(tmp_path / "ws"))
    assert (precious / "notes.txt").read_text() == "keep me"


def test_a_failure_leaves_nothing_half_written(
    tiny_cls_model: Path, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> None:
        raise ExportError("int8 quantization failed: simulated")

    monkeypatch.setattr(int8_search, "quantize_int8", broken)
    with pytest.raises(ExportError, match="simulated"):
        export_model(ExportConfig(model=str(tiny_cls_model)), workspace)
    assert not workspace.exports.exists() or not any(workspace.exports.iterdir())


@pytest.mark.slow
def test_a_failed_force_export_keeps_the_old_one(
    tiny_exports: dict[str, ExportResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import edgembed.exporter.kinds as kinds_module

    out = tmp_path / "export"
    shutil.copytree(tiny_exports["cls"].out, out)
    monkeypatch.setattr(kinds_module, "write_tokenizer", _raise_export_error)
    config = ExportConfig(model=str(tiny_exports["cls"].manifest.source_model), out=out, force=True)
    with pytest.raises(ExportError):
        export_model(config, Workspace(tmp_path / "ws"))
    assert read_manifest(out) == tiny_exports["cls"].manifest
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]


def _raise_export_error(*args: object) -> None:
    raise ExportError("simulated")
