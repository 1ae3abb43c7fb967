"""Find the fastest int8 recipe that keeps the model's accuracy.

Order of the tries: every quantizable op in int8; when that misses the target, rank the
feed-forward down projections (the MatMuls after GELU) by how much of the int8 loss each one
causes, measured by quantizing everything but that one projection, then keep the 1, 2, 4, ...
most sensitive in fp32 until a recipe reaches the target. See quantize.py for the figures.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from edgembed.exporter.folder import FP32_FILE, INT8_FILE, ExportFolder
from edgembed.exporter.parity import (
    Int8GateResult,
    Reference,
    VariantParity,
    embed_in_steps,
    int8_gate,
    measure,
)
from edgembed.exporter.parity_texts import ParityTexts
from edgembed.exporter.quantize import (
    ALL_INT8,
    QuantRecipe,
    ffn_output_nodes,
    keep_ffn_fp32,
    ladder,
    optimize_graph,
    quantize_int8,
)
from edgembed.exporter.smoothing import layer_norm_peaks
from edgembed.runtime import OnnxEmbedder

__all__ = ["Int8Outcome", "Sensitivity", "describe", "measure_variant", "search_int8"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sensitivity:
    """One FFN down projection (`layer`: its place in graph order) and the mean cosine to
    PyTorch when only it stays fp32."""

    node: str
    layer: int
    cosine_mean: float

    def to_json(self) -> dict[str, Any]:
        return {"node": self.node, "layer": self.layer, "cosine_mean": round(self.cosine_mean, 6)}


@dataclass(frozen=True)
class Int8Outcome:
    """The int8 recipe kept (or the best one tried), everything tried, and the ranking."""

    chosen: VariantParity
    tried: tuple[VariantParity, ...]
    gate: Int8GateResult
    quantization: dict[str, Any]
    kept: bool
    sensitivity: tuple[Sensitivity, ...]


@dataclass(frozen=True)
class _Candidate:
    parity: VariantParity
    gate: Int8GateResult
    quantization: dict[str, Any]
    path: Path


@dataclass(frozen=True)
class _Probe:
    """The most sensitive projection's probe, kept: it is the ladder's first recipe."""

    fp32_nodes: tuple[str, ...]
    parity: VariantParity
    quantization: dict[str, Any]
    path: Path


def measure_variant(
    staging: Path,
    variant: str,
    recipe: str | None,
    reference: Reference,
    texts: ParityTexts,
    desc: str | None = None,
) -> VariantParity:
    """Embed the parity texts through the real runtime, exactly as the server will."""
    embedder = OnnxEmbedder(staging, variant=variant)
    label = desc or f"parity {recipe or variant}"

    def embed(group: Sequence[str], input_type: str | None) -> NDArray[np.float32]:
        return embedder.embed(group, input_type=input_type)

    embeddings = embed_in_steps(embed, texts, desc=label)
    return measure(variant, recipe, embeddings, reference, texts)


class _Trials:
    """Quantizes `source` into the staging folder and measures it, one recipe at a time."""

    def __init__(
        self,
        staging: Path,
        source: Path,
        isa: str,
        folder: ExportFolder,
        reference: Reference,
        texts: ParityTexts,
    ) -> None:
        self.staging, self.source, self.isa, self.folder = staging, source, isa, folder
        self.reference, self.texts = reference, texts
        self.candidates: list[_Candidate] = []
        self._probe: _Probe | None = None
        # Smoothing is calibrated on the passages only: the queries and the short inputs that
        # the parity check also embeds stay unseen.
        passages = OnnxEmbedder(staging, variant="fp32").tokenize(texts.corpus)
        self.peaks = layer_norm_peaks(source, passages)

    def measure(
        self, recipe: QuantRecipe, desc: str | None = None
    ) -> tuple[VariantParity, dict[str, Any]]:
        quantization = quantize_int8(
            self.source, self.staging / INT8_FILE, self.isa, recipe, self.peaks
        )
        # The runtime checks the file against the manifest, so the manifest follows each try.
        self.folder.write_manifest(quantization, {})
        parity = measure_variant(
            self.staging, "int8", recipe.name, self.reference, self.texts, desc
        )
        return parity, quantization

    def try_recipe(self, recipe: QuantRecipe) -> _Candidate:
        probe = self._probe
        if probe is not None and probe.fp32_nodes == recipe.fp32_nodes:
            parity, quantization, made = probe.parity, probe.quantization, probe.path
        else:
            (parity, quantization), made = self.measure(recipe), self.staging / INT8_FILE
        gate = int8_gate(parity)
        log.info("%s", gate.message)
        keep_as = self.staging / f".int8.{len(self.candidates)}.onnx"
        made.rename(keep_as)
        candidate = _Candidate(parity, gate, quantization, keep_as)
        self.candidates.append(candidate)
        return candidate

    def rank(self, nodes: list[str]) -> tuple[Sensitivity, ...]:
        """Each node's cosine with only it in fp32, most sensitive (highest) first; nothing to
        rank (and no probe) for fewer than two. The top probe is kept for `try_recipe`."""
        if len(nodes) < 2:
            return ()
        scores: list[Sensitivity] = []
        for i, node in enumerate(nodes):
            recipe = keep_ffn_fp32([node], len(nodes))
            parity, quantization = self.measure(recipe, desc=f"probe layer {i}")
            if not scores or parity.cosine_mean > max(s.cosine_mean for s in scores):
                kept = self.staging / ".probe.onnx"
                (self.staging / INT8_FILE).replace(kept)
                self._probe = _Probe(recipe.fp32_nodes, parity, quantization, kept)
            scores.append(Sensitivity(node, i, parity.cosine_mean))
        ranked = tuple(sorted(scores, key=lambda s: -s.cosine_mean))
        log.info("FFN projections, most int8-sensitive first: %s", describe(ranked))
        return ranked


def search_int8(
    staging: Path,
    isa: str,
    accept_loss: bool,
    folder: ExportFolder,
    reference: Reference,
    texts: ParityTexts,
) -> Int8Outcome:
    """Try recipes, fastest first, until one reaches the target; keep the best one's file as
    the staging folder's model.int8.onnx."""
    fused = staging / ".fused.onnx"
    source = fused if optimize_graph(staging / FP32_FILE, fused) else staging / FP32_FILE
    trials = _Trials(staging, source, isa, folder, reference, texts)
    sensitivity: tuple[Sensitivity, ...] = ()
    try:
        if not trials.try_recipe(ALL_INT8).gate.meets_target:
            nodes = ffn_output_nodes(source)
            sensitivity = trials.rank(nodes)
            order = [s.node for s in sensitivity] or nodes
            for count in ladder(len(order)):
                if trials.try_recipe(keep_ffn_fp32(order[:count], len(order))).gate.meets_target:
                    break
    finally:
        fused.unlink(missing_ok=True)
        (staging / ".probe.onnx").unlink(missing_ok=True)
    candidates = trials.candidates
    # A recipe that meets the target (which also asks for the mean cosine) beats one that only
    # passes the gate, however much higher the gate's own figure of the latter.
    best = max(candidates, key=lambda c: (c.gate.passed, c.gate.meets_target, c.gate.value))
    best.path.rename(staging / INT8_FILE)
    for candidate in candidates:
        candidate.path.unlink(missing_ok=True)
    return Int8Outcome(
        chosen=best.parity,
        tried=tuple(c.parity for c in candidates),
        gate=best.gate,
        quantization=best.quantization,
        kept=best.gate.passed or accept_loss,
        sensitivity=sensitivity,
    )


def describe(ranked: tuple[Sensitivity, ...]) -> str:
    """``layer 0 (0.9954), layer 2 (0.9945), ...``: a ranking for logs and the CLI."""
    return ", ".join(f"layer {s.layer} ({s.cosine_mean:.4f})" for s in ranked)
