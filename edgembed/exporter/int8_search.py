"""Find the fastest int8 recipe that keeps the model's accuracy, for any kind of model: a
`Judge` says how close a variant comes to PyTorch (an embedder's cosines and retrieval, a
reranker's score correlation and reranking).

Order of the tries: every quantizable op in int8; when that misses the target, the same with
each feed-forward's outlier channels in a product of their own (ffn_split.py); when that misses
too, rank the feed-forward down projections (the MatMuls after GELU) by how much of the int8
loss each one causes, measured by quantizing everything but that one projection, then keep the
1, 2, 4, ... most sensitive in fp32 until a recipe reaches the target. See quantize.py for the
figures.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from edgembed.exporter.ffn_split import gelu_outputs
from edgembed.exporter.folder import FP32_FILE, INT8_FILE, ExportFolder
from edgembed.exporter.parity import (
    Int8GateResult,
    Parity,
    Reference,
    VariantParity,
    embed_in_steps,
    int8_gate,
    measure,
)
from edgembed.exporter.parity_texts import ParityTexts
from edgembed.exporter.quantize import (
    ALL_INT8,
    SPLIT_FFN,
    QuantRecipe,
    ffn_output_nodes,
    keep_ffn_fp32,
    ladder,
    optimize_graph,
    quantize_int8,
)
from edgembed.exporter.smoothing import activation_peaks, layer_norm_outputs
from edgembed.runtime import OnnxEmbedder

__all__ = ["EmbedderJudge", "Int8Outcome", "Judge", "Sensitivity", "describe", "search_int8"]

log = logging.getLogger(__name__)


class Judge(Protocol):
    """How one kind of model is measured against PyTorch at export."""

    def measure(
        self, staging: Path, variant: str, recipe: str | None, desc: str | None = None
    ) -> Parity:
        """The export in `staging`, run as the server will run it, against PyTorch."""
        ...

    def calibration_ids(self, staging: Path) -> list[list[int]]:
        """Token ids of texts to calibrate the int8 recipe's smoothing on (never the ones
        the queries of the parity check are)."""
        ...


@dataclass(frozen=True)
class Sensitivity:
    """One FFN down projection (`layer`: its place in graph order) and the closeness to
    PyTorch when only it stays fp32."""

    node: str
    layer: int
    closeness: float

    def to_json(self) -> dict[str, Any]:
        return {"node": self.node, "layer": self.layer, "closeness": round(self.closeness, 6)}


@dataclass(frozen=True)
class Int8Outcome:
    """The int8 recipe kept (or the best one tried), everything tried, and the ranking."""

    chosen: Parity
    tried: tuple[Parity, ...]
    gate: Int8GateResult
    quantization: dict[str, Any]
    kept: bool
    sensitivity: tuple[Sensitivity, ...]


@dataclass(frozen=True)
class _Candidate:
    parity: Parity
    gate: Int8GateResult
    quantization: dict[str, Any]
    path: Path


@dataclass(frozen=True)
class _Probe:
    """The most sensitive projection's probe, kept: it is the ladder's first recipe."""

    fp32_nodes: tuple[str, ...]
    parity: Parity
    quantization: dict[str, Any]
    path: Path


class EmbedderJudge:
    """An embedder against PyTorch: cosines of the parity texts' embeddings and retrieval."""

    def __init__(self, reference: Reference, texts: ParityTexts) -> None:
        self.reference, self.texts = reference, texts

    def measure(
        self, staging: Path, variant: str, recipe: str | None, desc: str | None = None
    ) -> VariantParity:
        """Embed the parity texts through the real runtime, exactly as the server will."""
        embedder = OnnxEmbedder(staging, variant=variant)
        label = desc or f"parity {recipe or variant}"

        def embed(group: Sequence[str], input_type: str | None) -> NDArray[np.float32]:
            return embedder.embed(group, input_type=input_type)

        embeddings = embed_in_steps(embed, self.texts, desc=label)
        return measure(variant, recipe, embeddings, self.reference, self.texts)

    def calibration_ids(self, staging: Path) -> list[list[int]]:
        # The passages only: the queries and short inputs the parity check embeds stay unseen.
        return OnnxEmbedder(staging, variant="fp32").tokenize(self.texts.corpus)


class _Trials:
    """Quantizes `source` into the staging folder and measures it, one recipe at a time."""

    def __init__(
        self, staging: Path, source: Path, isa: str, folder: ExportFolder, judge: Judge
    ) -> None:
        self.staging, self.source, self.isa, self.folder = staging, source, isa, folder
        self.judge = judge
        self.candidates: list[_Candidate] = []
        self._probe: _Probe | None = None
        self.peaks, self.ffn_peaks = activation_peaks(
            source, judge.calibration_ids(staging), layer_norm_outputs, gelu_outputs
        )

    def measure(
        self, recipe: QuantRecipe, desc: str | None = None
    ) -> tuple[Parity, dict[str, Any]]:
        quantization = quantize_int8(
            self.source, self.staging / INT8_FILE, self.isa, recipe, self.peaks, self.ffn_peaks
        )
        # The runtime checks the file against the manifest, so the manifest follows each try.
        self.folder.write_manifest(quantization, {})
        parity = self.judge.measure(self.staging, "int8", recipe.name, desc)
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
            if not scores or parity.closeness > max(s.closeness for s in scores):
                kept = self.staging / ".probe.onnx"
                (self.staging / INT8_FILE).replace(kept)
                self._probe = _Probe(recipe.fp32_nodes, parity, quantization, kept)
            scores.append(Sensitivity(node, i, parity.closeness))
        ranked = tuple(sorted(scores, key=lambda s: -s.closeness))
        log.info("FFN projections, most int8-sensitive first: %s", describe(ranked))
        return ranked


def search_int8(
    staging: Path, isa: str, accept_loss: bool, folder: ExportFolder, judge: Judge
) -> Int8Outcome:
    """Try recipes, fastest first, until one reaches the target; keep the best one's file as
    the staging folder's model.int8.onnx."""
    fused = staging / ".fused.onnx"
    source = fused if optimize_graph(staging / FP32_FILE, fused) else staging / FP32_FILE
    trials = _Trials(staging, source, isa, folder, judge)
    sensitivity: tuple[Sensitivity, ...] = ()
    try:
        if not trials.try_recipe(ALL_INT8).gate.meets_target and not _split_meets(trials):
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


def _split_meets(trials: _Trials) -> bool:
    """Whether the feed-forwards split (when the graph has any to split) reach the target."""
    return bool(trials.ffn_peaks) and trials.try_recipe(SPLIT_FFN).gate.meets_target


def describe(ranked: tuple[Sensitivity, ...]) -> str:
    """``layer 0 (0.9954), layer 2 (0.9945), ...``: a ranking for logs and the CLI."""
    return ", ".join(f"layer {s.layer} ({s.closeness:.4f})" for s in ranked)
