"""The shipping side's configurations: export and bench."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgembed.config.base import DEFAULT_ENGINE, check_engines
from edgembed.errors import ConfigError

__all__ = ["BENCH_SECTIONS", "ISA_CHOICES", "BenchConfig", "ExportConfig"]


ISA_CHOICES = ("auto", "avx512_vnni", "avx2", "arm64")


@dataclass(frozen=True)
class ExportConfig:
    """What `edgembed export` turns into an export folder, and how.

    Attributes:
        model: a model folder, ``bundled:all-MiniLM-L6-v2`` or a cached hub id; None: the newest
            folder under WORKSPACE/models/.
        name: the export's name (the folder name and the name the server announces); None: the
            model folder's name.
        out: the export folder; None: WORKSPACE/exports/<name>.
        force: replace an existing export folder.
        quantize: also write model.int8.onnx (dynamic int8 quantization).
        isa: the CPU instruction set the int8 model is tuned for (``auto``: this machine's).
        accept_parity_loss: keep the int8 model even when it fails the accuracy gate.
        parity_texts: at most this many eval queries and this many passages in the parity check.
        questions: a JSONL of real questions over the workspace's chunks: the parity check's
            queries in place of the eval pairs; None: the eval pairs.
        max_seq_length: the token window the export serves; None: the model's own, at most
            2048 tokens.
        version: the model's version in the manifest (`improve` numbers its promotions).
        lineage: where the model came from, for the manifest (`improve` fills it).
    """

    model: str | None = None
    name: str | None = None
    out: Path | None = None
    force: bool = False
    quantize: bool = True
    isa: str = "auto"
    accept_parity_loss: bool = False
    parity_texts: int = 500
    questions: Path | None = None
    max_seq_length: int | None = None
    version: int = 1
    lineage: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.version < 1:
            raise ConfigError(f"version must be 1 or more, got {self.version}")
        if self.max_seq_length is not None and self.max_seq_length < 8:
            raise ConfigError(f"max_seq_length must be at least 8, got {self.max_seq_length}")
        if self.isa not in ISA_CHOICES:
            raise ConfigError(f"isa must be one of {', '.join(ISA_CHOICES)}, got '{self.isa}'")
        if self.parity_texts < 10:
            raise ConfigError(f"parity_texts must be at least 10, got {self.parity_texts}")
        if self.name is not None and (
            not self.name or "/" in self.name or "\\" in self.name or self.name.startswith(".")
        ):
            raise ConfigError(f"export name '{self.name}' must be a plain folder name")


BENCH_SECTIONS = ("latency", "accuracy")


@dataclass(frozen=True)
class BenchConfig:
    """What `edgembed bench` measures, how long it repeats, and what it checks against.

    Attributes:
        export_dir: the export to measure; None: the newest folder under WORKSPACE/exports/.
        model: the PyTorch model to compare with; None: the export manifest's source model.
        questions: a JSONL of real questions for the accuracy section; None: eval pairs only.
        threads: intra-op threads of every backend; None: each library's default (one per
            physical core).
        engines: what runs the export's ONNX files: ``onnxruntime`` its fp32 and int8 files,
            ``openvino`` its fp32 file (a backend named openvino).
        quick: CI mode: the 1 x 16 and 32 x 128 shapes, shorter repetition.
        skip: sections to leave out (latency, accuracy).
        max_seconds: the time bound of one shape's interleaved repetition; None: 25 s quick,
            60 s otherwise.
        http_url: a running `edgembed serve` on this machine to load-test.
        serve: start `edgembed serve EXPORT_DIR` on a free loopback port for the HTTP section.
        api_key: the server's API key, when it needs one.
        check: a baseline file; the run fails when a figure is worse than it allows.
        save_baseline: write this run's gated figures as a new baseline file.
    """

    export_dir: Path | None = None
    model: str | None = None
    questions: Path | None = None
    threads: int | None = None
    engines: tuple[str, ...] = (DEFAULT_ENGINE,)
    quick: bool = False
    skip: tuple[str, ...] = ()
    max_seconds: float | None = None
    http_url: str | None = None
    serve: bool = False
    api_key: str | None = field(default=None, repr=False)
    check: Path | None = None
    save_baseline: Path | None = None

    def __post_init__(self) -> None:
        unknown = set(self.skip) - set(BENCH_SECTIONS)
        if unknown:
            raise ConfigError(
                f"unknown bench section(s) {', '.join(sorted(unknown))}; "
                f"choose from {', '.join(BENCH_SECTIONS)}"
            )
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"threads must be at least 1, got {self.threads}")
        check_engines(self.engines)
        if self.max_seconds is not None and self.max_seconds <= 0:
            raise ConfigError(f"max_seconds must be positive, got {self.max_seconds}")
        if self.http_url is not None and self.serve:
            raise ConfigError("pass either --http URL (a running server) or --serve, not both")

    def runs(self, section: str) -> bool:
        """Whether `section` is measured in this run."""
        return section not in self.skip
