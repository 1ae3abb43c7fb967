"""manifest.json: what an export folder holds, and the checks that it is whole and untouched.

The manifest is the contract between `edgembed export` and everything that serves the model:
the model's description (kind, architecture, pooling, prompts, window, dimension: a
`ModelDescriptor`), the graph's inputs and output, every file with its checksum, the parity
figures measured at export, and where the model came from. Format 2 holds the description as
one object; format 1 (before prompts and other kinds) still reads, as a plain embedder. This
module needs only the standard library, so anything may read a manifest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgembed.errors import ManifestError
from edgembed.formats.descriptor import ModelDescriptor

__all__ = [
    "FORMAT_VERSION",
    "INPUT_NAMES",
    "MANIFEST_NAME",
    "VARIANTS",
    "Manifest",
    "ManifestFile",
    "read_manifest",
    "sha256_file",
    "verify_file",
]

MANIFEST_NAME = "manifest.json"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
VARIANTS = ("fp32", "int8")
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")

_REEXPORT = "Re-run `edgembed export --force` to rebuild the export."


@dataclass(frozen=True)
class ManifestFile:
    """One file of the export, with the checksum it had when it was written.

    Attributes:
        path: the file name, relative to the export folder.
        sha256: hex digest of the file's bytes.
        bytes: the file's size.
        variant: ``fp32`` or ``int8`` for an ONNX model; None for the tokenizer.
        quantization: how an int8 model was quantized (method, recipe, ISA, ...); None for fp32.
    """

    path: str
    sha256: str
    bytes: int
    variant: str | None = None
    quantization: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"sha256": self.sha256, "bytes": self.bytes}
        if self.variant is not None:
            data["variant"] = self.variant
            data["quantization"] = dict(self.quantization) if self.quantization else None
        return data


@dataclass(frozen=True)
class Manifest:
    """Everything the runtime needs to serve an export, read from manifest.json.

    Attributes:
        format_version: the manifest layout; the runtime refuses versions it does not know.
        name: the model's name, as the server announces it.
        source_model: the model folder that was exported.
        base_model: the model that one was fine-tuned from, when known.
        model: what the model is and how it is meant to be used (pooling, prompts, window...).
        vocab_size: token ids run from 0 to vocab_size - 1.
        pad_token_id: the id used to pad a batch (masked out, so it never changes a result).
        normalize_added: true when the model had no Normalize module and edgembed added one.
        inputs: the graph's input names, in order.
        output: the graph's output name.
        files: the tokenizer and ONNX files with their checksums.
        parity: how close the ONNX models came to PyTorch at export time.
        evaluation: the model's own evaluation figures (its training record), when known.
        lineage: where this export came from beyond its source model (an `improve` run's
            marks, figures and the export it replaces); empty for a plain export.
        version: the model's version: 1 for a plain export, then each `improve` promotion
            (served side by side as NAME@v1, NAME@v2, ...).
        created: when the export was made (ISO 8601, UTC).
        edgembed_version: the edgembed that made it.
    """

    format_version: int
    name: str
    source_model: str
    base_model: str | None
    model: ModelDescriptor
    vocab_size: int
    pad_token_id: int
    normalize_added: bool
    inputs: tuple[str, ...]
    output: str
    files: tuple[ManifestFile, ...]
    parity: Mapping[str, Any] = field(default_factory=dict)
    evaluation: Mapping[str, Any] | None = None
    lineage: Mapping[str, Any] = field(default_factory=dict)
    created: str = ""
    edgembed_version: str = ""
    version: int = 1

    @property
    def versioned_name(self) -> str:
        """NAME@vN: the model id of this version."""
        return f"{self.name}@v{self.version}"

    @property
    def dimension(self) -> int:
        """Length of one embedding (1 for a reranker's score)."""
        return self.model.dimension

    @property
    def max_seq_length(self) -> int:
        """Most tokens per input, special tokens included."""
        return self.model.max_seq_length

    @property
    def kind(self) -> str:
        """``embedder`` or ``reranker``."""
        return self.model.kind

    @property
    def variants(self) -> tuple[str, ...]:
        """The ONNX variants this export holds (``fp32``, ``int8``)."""
        return tuple(f.variant for f in self.files if f.variant is not None)

    @property
    def tokenizer_file(self) -> ManifestFile:
        """The tokenizer.json entry."""
        for entry in self.files:
            if entry.variant is None:
                return entry
        raise ManifestError(f"{MANIFEST_NAME} lists no tokenizer file. {_REEXPORT}")

    @property
    def int8_validated_isa(self) -> tuple[str, ...] | None:
        """The CPU int8 classes (runtime.cpu.INT8_PATHS) the int8 model was checked on: against
        PyTorch at export, then against the fp32 file by `edgembed check` (its figures under
        "checked_on"); None when the export predates that record or has no int8 model."""
        for entry in self.files:
            if entry.variant == "int8" and entry.quantization:
                validated = entry.quantization.get("validated_isa")
                return None if validated is None else tuple(validated)
        return None

    def model_file(self, variant: str) -> ManifestFile:
        """The ONNX file of `variant`.

        Raises:
            ManifestError: this export has no such variant; the message says which it has.
        """
        for entry in self.files:
            if entry.variant == variant:
                return entry
        why = ""
        gate = self.parity.get("gate")
        if variant == "int8" and isinstance(gate, Mapping) and gate.get("passed") is False:
            why = f" (int8 was left out at export: {gate.get('message', 'parity gate')})"
        raise ManifestError(
            f"export '{self.name}' has no {variant} model{why}. It holds: "
            f"{', '.join(self.variants) or 'none'}. Pick one of those (e.g. --variant fp32), or "
            "re-run `edgembed export --force`."
        )

    def to_json(self) -> dict[str, Any]:
        """The manifest as written to manifest.json (always in this edgembed's format)."""
        return {
            "format_version": FORMAT_VERSION,
            "name": self.name,
            "version": self.version,
            "created": self.created,
            "edgembed_version": self.edgembed_version,
            "source_model": self.source_model,
            "base_model": self.base_model,
            "model": self.model.to_json(),
            "vocab_size": self.vocab_size,
            "pad_token_id": self.pad_token_id,
            "normalize_added": self.normalize_added,
            "inputs": list(self.inputs),
            "output": self.output,
            "files": {entry.path: entry.to_json() for entry in self.files},
            "parity": dict(self.parity),
            "evaluation": dict(self.evaluation) if self.evaluation is not None else None,
            "lineage": dict(self.lineage),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Manifest:
        """Parse and check a manifest.json object.

        Raises:
            ManifestError: a field is missing or of the wrong type, or the format is unknown.
        """
        version = data.get("format_version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise ManifestError(f"{MANIFEST_NAME} has no format_version. {_REEXPORT}")
        if version not in READABLE_VERSIONS:
            raise ManifestError(
                f"{MANIFEST_NAME} has format version {version}, but this edgembed reads versions "
                f"{', '.join(map(str, READABLE_VERSIONS))}. Use the edgembed that made the "
                "export, or export again with this one."
            )
        inputs = tuple(_field(data, "inputs", list))
        if not {"input_ids", "attention_mask"} <= set(inputs) <= set(INPUT_NAMES):
            raise ManifestError(f"{MANIFEST_NAME}: unsupported graph inputs {inputs}. {_REEXPORT}")
        return cls(
            format_version=version,
            name=_field(data, "name", str),
            source_model=_field(data, "source_model", str),
            base_model=_optional(data, "base_model", str),
            model=_descriptor(data, version),
            vocab_size=_field(data, "vocab_size", int),
            pad_token_id=_field(data, "pad_token_id", int),
            normalize_added=_field(data, "normalize_added", bool),
            inputs=inputs,
            output=_field(data, "output", str),
            files=_files(_field(data, "files", dict)),
            parity=_field(data, "parity", dict),
            evaluation=_optional(data, "evaluation", dict),
            lineage=_optional(data, "lineage", dict) or {},
            version=_optional(data, "version", int) or 1,
            created=str(data.get("created", "")),
            edgembed_version=str(data.get("edgembed_version", "")),
        )


def _descriptor(data: Mapping[str, Any], version: int) -> ModelDescriptor:
    """The model's description: format 2's object, or format 1's fields (an embedder with
    mean or CLS pooling and no prompts)."""
    if version == 1:
        pooling = _field(data, "pooling", str)
        if pooling not in ("mean", "cls"):
            raise ManifestError(f"{MANIFEST_NAME}: unknown pooling '{pooling}'. {_REEXPORT}")
        raw: Mapping[str, Any] = {
            "kind": "embedder",
            "architecture": "unknown",
            "dimension": _field(data, "dimension", int),
            "max_seq_length": _field(data, "max_seq_length", int),
            "pooling": pooling,
            "normalize": _field(data, "normalize", bool),
        }
    else:
        raw = _field(data, "model", dict)
    try:
        return ModelDescriptor.from_json(raw)
    except ValueError as exc:
        raise ManifestError(f"{MANIFEST_NAME}: {exc}. {_REEXPORT}") from exc


def _field(data: Mapping[str, Any], key: str, kind: type[Any]) -> Any:
    value = data.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ManifestError(
            f"{MANIFEST_NAME}: '{key}' is missing or not a {kind.__name__}. {_REEXPORT}"
        )
    return value


def _optional(data: Mapping[str, Any], key: str, kind: type[Any]) -> Any:
    return None if data.get(key) is None else _field(data, key, kind)


def _files(data: Mapping[str, Any]) -> tuple[ManifestFile, ...]:
    files = []
    for path, entry in data.items():
        if not isinstance(entry, Mapping) or Path(path).name != path:
            raise ManifestError(f"{MANIFEST_NAME}: bad entry for file '{path}'. {_REEXPORT}")
        variant = _optional(entry, "variant", str)
        if variant is not None and variant not in VARIANTS:
            raise ManifestError(f"{MANIFEST_NAME}: unknown variant '{variant}' for {path}.")
        quantization = _optional(entry, "quantization", dict)
        validated = (quantization or {}).get("validated_isa", [])
        if not isinstance(validated, list) or not all(isinstance(v, str) for v in validated):
            raise ManifestError(f"{MANIFEST_NAME}: bad validated_isa for {path}. {_REEXPORT}")
        files.append(
            ManifestFile(
                path=path,
                sha256=_field(entry, "sha256", str),
                bytes=_field(entry, "bytes", int),
                variant=variant,
                quantization=quantization,
            )
        )
    return tuple(files)


def read_manifest(export_dir: Path | str) -> Manifest:
    """Read an export folder's manifest.json (without checking file checksums).

    Raises:
        ManifestError: the folder or its manifest is missing, unreadable or of an unknown format.
    """
    folder = Path(export_dir)
    if not folder.is_dir():
        raise ManifestError(
            f"export folder {folder} does not exist. Make one with `edgembed export`, or pass the "
            "folder it wrote (WORKSPACE/exports/<name>)."
        )
    path = folder / MANIFEST_NAME
    if not path.is_file():
        raise ManifestError(
            f"{folder} is not an edgembed export: it has no {MANIFEST_NAME}. Pass the folder "
            "that `edgembed export` wrote (WORKSPACE/exports/<name>), or export again."
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(f"{path} cannot be read ({exc}). {_REEXPORT}") from exc
    if not isinstance(data, dict):
        raise ManifestError(f"{path} is not a JSON object. {_REEXPORT}")
    return Manifest.from_json(data)


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_file(export_dir: Path, entry: ManifestFile) -> Path:
    """Check that a listed file is present and unchanged; return its path.

    Raises:
        ManifestError: the file is missing, or its size or checksum differs from the manifest.
    """
    path = export_dir / entry.path
    if not path.is_file():
        raise ManifestError(
            f"{entry.path} is listed in {export_dir / MANIFEST_NAME} but missing: the export is "
            f"incomplete. {_REEXPORT}"
        )
    if path.stat().st_size != entry.bytes or sha256_file(path) != entry.sha256:
        raise ManifestError(
            f"{path} does not match the sha256 in {MANIFEST_NAME}: the file was changed or "
            f"damaged after export. {_REEXPORT}"
        )
    return path
