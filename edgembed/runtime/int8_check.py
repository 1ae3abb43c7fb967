"""`edgembed check`: an export's int8 model checked on the CPU it is about to serve on.

An export records the int8 class of the CPU its int8 file was checked against PyTorch on
(runtime/cpu.py), and `serve` uses int8 only on that class. A container exported on an
AVX-512 VNNI box and run on an AVX2 one (u8 x s8 products that saturate) therefore serves
fp32, and cannot export again there: the serving image has no PyTorch. The fp32 file was
checked against PyTorch at export and fp32 arithmetic is the same on every class, so it
stands in for PyTorch here: int8 beside fp32 on this CPU, on the same texts, with the export
gate's own floor (mean cosine 0.99 when there are no questions). A reranker export is held to
the same floor on its scores: the mean, over queries, of the Pearson correlation between int8's
and fp32's scores of the query's candidates (the figure its export gate reads without
questions). When int8 holds, this CPU's class joins the manifest's validated list, with the
figures that admitted it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from edgembed.atomic import write_json
from edgembed.errors import ConfigError, InputError
from edgembed.formats.manifest import MANIFEST_NAME, read_manifest
from edgembed.runtime.cpu import this_cpu_int8_path
from edgembed.runtime.embedder import OnnxEmbedder
from edgembed.runtime.reranker import OnnxReranker, pearson

__all__ = ["MIN_COSINE", "MAX_TEXTS", "Int8Check", "check_int8", "read_texts", "record_check"]

MIN_COSINE = 0.99
"""The export gate's floor when it has no questions: int8's mean cosine to the reference (a
reranker's mean Pearson correlation of a query's scores)."""
MAX_TEXTS = 1000


@dataclass(frozen=True)
class Int8Check:
    """What int8 computed beside fp32 on this CPU."""

    cpu: str
    validated: tuple[str, ...] | None
    """None: the export predates the record, and `serve` uses its int8 on every CPU."""
    texts: int
    """Texts embedded, or (query, passage) pairs scored by a reranker."""
    source: str
    measure: str
    """``cosine`` (an embedder's vectors) or ``pearson`` (a reranker's scores, per query)."""
    mean: float
    worst: float
    min_cosine: float

    @property
    def passed(self) -> bool:
        return self.mean >= self.min_cosine

    @property
    def measure_name(self) -> str:
        return "cosine" if self.measure == "cosine" else "Pearson correlation of a query's scores"

    def figures(self) -> dict[str, object]:
        """What the manifest records of the check (cosine_mean, or pearson_mean, ...)."""
        return {
            "cpu": self.cpu,
            "texts" if self.measure == "cosine" else "pairs": self.texts,
            "source": self.source,
            f"{self.measure}_mean": self.mean,
            f"{self.measure}_min": self.worst,
        }

    @property
    def new_class(self) -> bool:
        """True when this CPU's class is known and not yet in the validated list."""
        return (
            self.cpu != "unknown" and self.validated is not None and self.cpu not in self.validated
        )


def read_texts(path: Path) -> list[str]:
    """The texts of a file to compare on: its lines (a .jsonl file's "text" or "question"
    fields, as a workspace's chunks.jsonl holds), at most MAX_TEXTS."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if path.suffix == ".jsonl":
        try:
            rows = [json.loads(line) for line in lines]
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: not JSON lines ({exc})") from exc
        lines = [str(r.get("text") or r.get("question") or "") for r in rows if isinstance(r, dict)]
        lines = [line for line in lines if line.strip()]
    if not lines:
        raise InputError(
            f"{path} holds no texts: give a text file with one passage a line, or a JSONL "
            'file whose lines have a "text" field (a workspace\'s chunks.jsonl).'
        )
    return lines[:MAX_TEXTS]


def check_int8(
    export_dir: Path,
    texts: Sequence[str],
    source: str,
    min_cosine: float = MIN_COSINE,
    queries: Sequence[str] = (),
) -> Int8Check:
    """Run the export's fp32 and int8 files on this CPU on the same inputs and compare them:
    an embedder's vectors of `texts`; a reranker's scores of `texts` as the passages of each
    of `queries` (up to MAX_TEXTS pairs in all).

    Raises:
        ConfigError: the export has no int8 file.
        InputError: a reranker with no queries or fewer than two passages.
        ManifestError: the folder is not a whole, untouched export.
    """
    manifest = read_manifest(export_dir)
    if "int8" not in manifest.variants:
        raise ConfigError(
            f"{export_dir} has no int8 model (exported with --no-quantize, or int8 failed its "
            "gate): there is nothing to check; `serve` uses its fp32 model."
        )
    cpu = this_cpu_int8_path()
    validated = manifest.int8_validated_isa
    # Naming a class the export was validated on lifts the refusal this check exists to lift;
    # the arithmetic is this CPU's whichever class is named.
    as_validated = validated[0] if validated else cpu
    if manifest.kind == "reranker":
        count, closeness = _score_correlations(export_dir, queries, texts, as_validated)
        measure = "pearson"
    else:
        fp32 = OnnxEmbedder(export_dir, "fp32", threads=1)
        int8 = OnnxEmbedder(export_dir, "int8", threads=1, cpu=as_validated)
        measure, count = "cosine", len(texts)
        closeness = np.sum(fp32.embed(texts) * int8.embed(texts), axis=1)
    return Int8Check(
        cpu=cpu,
        validated=validated,
        texts=count,
        source=source,
        measure=measure,
        mean=round(float(closeness.mean()), 6),
        worst=round(float(closeness.min()), 6),
        min_cosine=min_cosine,
    )


def _score_correlations(
    export_dir: Path, queries: Sequence[str], passages: Sequence[str], cpu: str
) -> tuple[int, NDArray[np.float64]]:
    """Pairs scored, and per query the Pearson correlation of int8's scores with fp32's."""
    asked = set(queries)
    passages = [text for text in passages if text not in asked]
    passages = passages[: max(2, MAX_TEXTS // max(1, len(queries)))]
    if not queries or len(passages) < 2:
        raise InputError(
            "a reranker is checked on queries each scoring at least two passages: give a "
            "--texts file with two or more passages."
        )
    fp32 = OnnxReranker(export_dir, "fp32", threads=1)
    int8 = OnnxReranker(export_dir, "int8", threads=1, cpu=cpu)
    correlations = [pearson(int8.score(q, passages), fp32.score(q, passages)) for q in queries]
    return len(queries) * len(passages), np.array(correlations)


def record_check(export_dir: Path, check: Int8Check) -> None:
    """Add this CPU's class to the int8 file's validated list in manifest.json, with the
    figures that admitted it (one atomic write; the model files are not touched)."""
    if not (check.passed and check.new_class):
        raise ConfigError("only a passed check on a CPU class not yet validated is recorded")
    path = export_dir / MANIFEST_NAME
    data = json.loads(path.read_text(encoding="utf-8"))
    for entry in data["files"].values():
        if entry.get("variant") == "int8":
            quantization = entry["quantization"]
            quantization["validated_isa"] = [*quantization.get("validated_isa", []), check.cpu]
            checked = {**check.figures(), "reference": "fp32", "threshold": check.min_cosine}
            quantization["checked_on"] = [
                *quantization.get("checked_on", []),
                {**checked, "at": datetime.now(UTC).isoformat(timespec="seconds")},
            ]
    write_json(path, data)
    read_manifest(export_dir)  # what was written still reads as a manifest
