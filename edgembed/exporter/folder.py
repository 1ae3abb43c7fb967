"""The export folder on disk: built in a hidden staging folder, described by manifest.json,
then swapped into place whole, so a crash never leaves a half-written export.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edgembed import __version__
from edgembed.atomic import write_json
from edgembed.errors import OutputExistsError
from edgembed.exporter.onnx_export import GraphInfo
from edgembed.exporter.source import SourceModel
from edgembed.formats.manifest import (
    FORMAT_VERSION,
    MANIFEST_NAME,
    Manifest,
    ManifestFile,
    sha256_file,
)

__all__ = [
    "FP32_FILE",
    "INT8_FILE",
    "TOKENIZER_FILE",
    "ExportFolder",
    "check_target",
]

FP32_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"
TOKENIZER_FILE = "tokenizer.json"


def check_target(out: Path, force: bool) -> None:
    """Refuse to replace `out` without --force, and never replace a folder that is not an export.

    Raises:
        OutputExistsError: `out` exists and may not be replaced.
    """
    if not out.exists():
        return
    if not force:
        raise OutputExistsError(
            f"{out} already exists. Pass --force to replace it, or --name/--out to export "
            "somewhere else."
        )
    if out.is_file() or (any(out.iterdir()) and not (out / MANIFEST_NAME).is_file()):
        raise OutputExistsError(
            f"{out} exists and is not an edgembed export (no {MANIFEST_NAME}); edgembed will not "
            "replace it, even with --force. Choose another --out."
        )


@dataclass(frozen=True)
class ExportFolder:
    """What is known about an export while it is built in `staging`."""

    staging: Path
    name: str
    source: SourceModel
    graph: GraphInfo
    created: str = ""
    version: int = 1
    lineage: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def start(
        cls,
        staging: Path,
        name: str,
        source: SourceModel,
        graph: GraphInfo,
        version: int = 1,
        lineage: Mapping[str, Any] | None = None,
    ) -> ExportFolder:
        """Stamp the export with the current time."""
        created = datetime.now(UTC).isoformat(timespec="seconds")
        return cls(staging, name, source, graph, created, version, lineage or {})

    def write_manifest(
        self, quantization: Mapping[str, Any] | None, parity: Mapping[str, Any]
    ) -> Manifest:
        """Checksum the files and write manifest.json (with the int8 model when `quantization`
        is given)."""
        files = [self._entry(TOKENIZER_FILE), self._entry(FP32_FILE, "fp32")]
        if quantization is not None:
            files.append(self._entry(INT8_FILE, "int8", quantization))
        model = replace(
            self.source.descriptor,
            dimension=self.graph.dimension,
            max_seq_length=self.graph.max_seq_length,
            normalize=not self.source.is_reranker,
        )
        manifest = Manifest(
            format_version=FORMAT_VERSION,
            name=self.name,
            source_model=str(self.source.path),
            base_model=self.source.base_model,
            model=model,
            vocab_size=self.graph.vocab_size,
            pad_token_id=self.graph.pad_token_id,
            normalize_added=not self.source.is_reranker and not self.source.has_normalize,
            inputs=self.graph.inputs,
            output=self.graph.output,
            files=tuple(files),
            parity=dict(parity),
            evaluation=self.source.evaluation,
            lineage=dict(self.lineage),
            created=self.created,
            edgembed_version=__version__,
            version=self.version,
        )
        write_json(self.staging / MANIFEST_NAME, manifest.to_json())
        return manifest

    def _entry(
        self, name: str, variant: str | None = None, quantization: Mapping[str, Any] | None = None
    ) -> ManifestFile:
        path = self.staging / name
        return ManifestFile(
            path=name,
            sha256=sha256_file(path),
            bytes=path.stat().st_size,
            variant=variant,
            quantization=quantization,
        )
