"""`edgembed export`: a sentence-transformers folder -> an export folder the runtime can serve.

Steps: trace the fp32 graph (pooling and normalisation inside) and write the tokenizer; check
the fp32 graph against PyTorch; fuse and quantize to int8, trying the recipes in order until
one reaches the target (99.5% of PyTorch's NDCG@10, or mean cosine 0.995 without eval pairs)
and keeping the best one tried; gate it (99%); write manifest.json; swap the folder into place.

When no int8 recipe passes the gate (and --accept-parity-loss is not given), the export is
still written, with the fp32 model only and the measured figures in its manifest, and
`ExportResult.int8_rejected` is true; the CLI then exits non-zero and says why.
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgembed.config import ExportConfig, Workspace
from edgembed.exporter.folder import (
    FP32_FILE,
    INT8_FILE,
    TOKENIZER_FILE,
    ExportFolder,
    check_target,
    commit,
    staging_for,
)
from edgembed.exporter.onnx_export import export_onnx, write_tokenizer
from edgembed.exporter.parity import (
    GateResult,
    Reference,
    VariantParity,
    check_fp32,
    embed_in_steps,
    int8_gate,
    measure,
    reference_embeddings,
)
from edgembed.exporter.parity_texts import ParityTexts, load_parity_texts
from edgembed.exporter.quantize import detect_isa, optimize_graph, quantize_int8, recipes_for
from edgembed.exporter.source import find_source
from edgembed.runtime import Manifest, OnnxEmbedder
from edgembed.trainer.base_model import load_sentence_transformer

__all__ = ["ExportResult", "export_model"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportResult:
    """What `export_model` wrote and measured.

    Attributes:
        out: the export folder.
        manifest: its manifest.
        fp32: the fp32 model against PyTorch.
        int8: the int8 recipe kept (or, when none passed the gate, the best one tried).
        int8_tried: every int8 recipe measured, in the order tried.
        gate: the int8 gate's verdict on the recipe kept (or the best one); None without int8.
        int8_kept: whether model.int8.onnx is in the export.
        seconds: wall time of the whole export.
    """

    out: Path
    manifest: Manifest
    fp32: VariantParity
    int8: VariantParity | None
    int8_tried: tuple[VariantParity, ...]
    gate: GateResult | None
    int8_kept: bool
    seconds: float

    @property
    def int8_rejected(self) -> bool:
        """True when int8 was wanted but left out because it failed the gate."""
        return bool(self.int8_tried) and not self.int8_kept


@dataclass(frozen=True)
class _Int8Outcome:
    chosen: VariantParity
    tried: tuple[VariantParity, ...]
    gate: GateResult
    quantization: dict[str, Any]
    kept: bool


def export_model(config: ExportConfig, workspace: Workspace) -> ExportResult:
    """Export a model to ONNX (fp32 and int8) with its tokenizer and manifest.

    Raises:
        ModelError: the model cannot be found or loaded.
        OutputExistsError: the export folder exists and `config.force` is not set.
        ExportError: tracing or quantization failed, or fp32 does not reproduce PyTorch.
    """
    started = time.monotonic()
    source = find_source(config.model, workspace)
    name = config.name or source.name
    out = config.out or workspace.exports / name
    check_target(out, config.force)
    model = load_sentence_transformer(source.path, device="cpu")
    texts = load_parity_texts(workspace, config.parity_texts)
    log.info("parity texts: %d queries, %d passages (%s)", *_sizes(texts), texts.source)
    staging = staging_for(out)
    try:
        graph = export_onnx(model, staging / FP32_FILE, add_normalize=not source.has_normalize)
        write_tokenizer(model, staging / TOKENIZER_FILE)
        folder = ExportFolder.start(staging, name, source, graph)
        folder.write_manifest(None, {})
        reference = reference_embeddings(model, texts)
        fp32 = _measure(staging, "fp32", None, reference, texts)
        check_fp32(fp32)
        outcome = None
        if config.quantize:
            isa = detect_isa() if config.isa == "auto" else config.isa
            outcome = _quantize(staging, isa, config.accept_parity_loss, folder, reference, texts)
        parity = _parity_json(texts, reference, fp32, outcome, config.accept_parity_loss)
        quantization = outcome.quantization if outcome is not None and outcome.kept else None
        manifest = folder.write_manifest(quantization, parity)
        if quantization is None:
            (staging / INT8_FILE).unlink(missing_ok=True)
        commit(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ExportResult(
        out=out,
        manifest=manifest,
        fp32=fp32,
        int8=outcome.chosen if outcome else None,
        int8_tried=outcome.tried if outcome else (),
        gate=outcome.gate if outcome else None,
        int8_kept=quantization is not None,
        seconds=time.monotonic() - started,
    )


def _sizes(texts: ParityTexts) -> tuple[int, int]:
    return len(texts.queries), len(texts.corpus)


def _measure(
    staging: Path, variant: str, recipe: str | None, reference: Reference, texts: ParityTexts
) -> VariantParity:
    """Embed the parity texts through the real runtime, exactly as the server will."""
    embedder = OnnxEmbedder(staging, variant=variant)
    embeddings = embed_in_steps(embedder.embed, texts.texts, desc=f"parity {variant}")
    return measure(variant, recipe, embeddings, reference, texts)


def _quantize(
    staging: Path,
    isa: str,
    accept_loss: bool,
    folder: ExportFolder,
    reference: Reference,
    texts: ParityTexts,
) -> _Int8Outcome:
    """Try each recipe until one reaches the target; keep the best one's file in place."""
    fused = staging / ".fused.onnx"
    source = fused if optimize_graph(staging / FP32_FILE, fused) else staging / FP32_FILE
    candidates: list[tuple[VariantParity, GateResult, dict[str, Any], Path]] = []
    for recipe in recipes_for(source):
        quantization = quantize_int8(source, staging / INT8_FILE, isa, recipe)
        folder.write_manifest(quantization, {})
        parity = _measure(staging, "int8", recipe.name, reference, texts)
        gate = int8_gate(parity)
        log.info("%s", gate.message)
        keep_as = staging / f".int8.{len(candidates)}.onnx"
        (staging / INT8_FILE).rename(keep_as)
        candidates.append((parity, gate, quantization, keep_as))
        if gate.meets_target:
            break
    fused.unlink(missing_ok=True)
    best = max(candidates, key=lambda c: (c[1].passed, c[1].value))
    best[3].rename(staging / INT8_FILE)
    for *_, leftover in candidates:
        leftover.unlink(missing_ok=True)
    kept = best[1].passed or accept_loss
    return _Int8Outcome(best[0], tuple(c[0] for c in candidates), best[1], best[2], kept)


def _parity_json(
    texts: ParityTexts,
    reference: Reference,
    fp32: VariantParity,
    outcome: _Int8Outcome | None,
    accept_loss: bool,
) -> dict[str, Any]:
    queries, passages = _sizes(texts)
    data: dict[str, Any] = {
        "texts": {"source": texts.source, "queries": queries, "passages": passages},
        "pytorch": {"ndcg_at_10": reference.ndcg_at_10},
        "fp32": fp32.to_json(),
    }
    if outcome is not None:
        data["int8"] = outcome.chosen.to_json()
        data["int8_recipes_tried"] = [p.to_json() for p in outcome.tried]
        data["gate"] = outcome.gate.to_json()
        data["int8_kept"] = outcome.kept
        data["accepted_parity_loss"] = accept_loss and not outcome.gate.passed
    return data
