"""`edgembed export`: a sentence-transformers embedding model or CrossEncoder folder -> an export
folder the runtime can serve.

Steps, the same for both kinds (`kinds.py` says what differs): trace the fp32 graph (pooling
and normalisation, or the score's activation, inside) and write the tokenizer; check the fp32
graph against PyTorch; fuse and quantize to int8, fastest recipe first, until one reaches the
target (closeness 0.995 to PyTorch and, with questions, 99.5% of its NDCG@10) and keeping the
best one tried (int8_search.py); gate it (99%); write manifest.json; swap the folder into
place.

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

from edgembed.atomic import staging_folder, swap_in
from edgembed.config import ExportConfig
from edgembed.exporter.folder import (
    FP32_FILE,
    INT8_FILE,
    TOKENIZER_FILE,
    ExportFolder,
    check_target,
)
from edgembed.exporter.int8_search import Int8Outcome, Sensitivity, search_int8
from edgembed.exporter.kinds import KindExport, prepare
from edgembed.exporter.parity import Int8GateResult, Parity
from edgembed.exporter.source import find_source
from edgembed.formats.manifest import Manifest
from edgembed.runtime.isa import detect_isa
from edgembed.workspace import Workspace

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
        sensitivity: the FFN down projections, most int8-sensitive first, when ranked.
    """

    out: Path
    manifest: Manifest
    fp32: Parity
    int8: Parity | None
    int8_tried: tuple[Parity, ...]
    gate: Int8GateResult | None
    int8_kept: bool
    seconds: float
    sensitivity: tuple[Sensitivity, ...] = ()

    @property
    def int8_rejected(self) -> bool:
        """True when int8 was wanted but left out because it failed the gate."""
        return bool(self.int8_tried) and not self.int8_kept


def export_model(config: ExportConfig, workspace: Workspace) -> ExportResult:
    """Export a model (an embedder or a reranker) to ONNX, fp32 and int8, with its tokenizer and
    manifest.

    Raises:
        ModelError: the model cannot be found or loaded.
        OutputExistsError: the export folder exists and `config.force` is not set.
        ExportError: tracing or quantization failed, or fp32 does not reproduce PyTorch.
    """
    started = time.monotonic()
    source = find_source(config.model, workspace, config.max_seq_length)
    name = config.name or source.name
    out = config.out or workspace.exports / name
    check_target(out, config.force)
    kind = prepare(source, config, workspace)
    log.info("parity texts: %s", kind.texts_json)
    staging = staging_folder(out)
    try:
        manifest, fp32, outcome = _build(kind, config, source, name, staging)
        swap_in(staging, out)
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
        int8_kept=manifest.variants.count("int8") == 1,
        seconds=time.monotonic() - started,
        sensitivity=outcome.sensitivity if outcome else (),
    )


def _build(
    kind: KindExport, config: ExportConfig, source: Any, name: str, staging: Path
) -> tuple[Manifest, Parity, Int8Outcome | None]:
    """Trace, check fp32, search int8 and write the manifest, all in `staging`."""
    graph = kind.trace(staging / FP32_FILE, staging / TOKENIZER_FILE)
    folder = ExportFolder.start(staging, name, source, graph, config.version, config.lineage)
    folder.write_manifest(None, {})
    fp32 = kind.judge.measure(staging, "fp32", None)
    kind.check_fp32(fp32)
    outcome = None
    if config.quantize:
        isa = detect_isa() if config.isa == "auto" else config.isa
        outcome = search_int8(staging, isa, config.accept_parity_loss, folder, kind.judge)
    parity = _parity_json(kind, fp32, outcome, config.accept_parity_loss)
    quantization = outcome.quantization if outcome is not None and outcome.kept else None
    manifest = folder.write_manifest(quantization, parity)
    if quantization is None:
        (staging / INT8_FILE).unlink(missing_ok=True)
    return manifest, fp32, outcome


def _parity_json(
    kind: KindExport, fp32: Parity, outcome: Int8Outcome | None, accept_loss: bool
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "texts": kind.texts_json,
        "pytorch": {"ndcg_at_10": kind.pytorch_ndcg},
        "fp32": fp32.to_json(),
    }
    if outcome is not None:
        data["int8"] = outcome.chosen.to_json()
        data["int8_recipes_tried"] = [p.to_json() for p in outcome.tried]
        if outcome.sensitivity:
            data["ffn_sensitivity"] = [s.to_json() for s in outcome.sensitivity]
        data["gate"] = outcome.gate.to_json()
        data["int8_kept"] = outcome.kept
        data["accepted_parity_loss"] = accept_loss and not outcome.gate.passed
    return data
