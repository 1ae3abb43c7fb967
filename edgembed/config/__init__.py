"""Configuration: one frozen dataclass per command (the workspace layout is workspace.py).

Sources, strongest first: command-line flags > ``EDGEMBED_*`` environment variables >
``edgembed.toml`` > defaults. The CLI applies that order (click's ``auto_envvar_prefix`` and
``default_map``); library code only ever sees the finished dataclasses.

edgembed.toml holds top-level keys for the global options and one table per command::

    workspace = "ws"
    [chunk]
    chunk_words = 400
    [train]
    epochs = 3
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from edgembed.config.base import DEFAULT_ENGINE, ENGINES, as_json, load_toml
from edgembed.config.export import BENCH_SECTIONS, ISA_CHOICES, BenchConfig, ExportConfig
from edgembed.config.serving import ServeSettings
from edgembed.config.training import (
    ChunkConfig,
    EvaluateConfig,
    GenerateConfig,
    LLMConfig,
    TrainConfig,
)

__all__ = [
    "BENCH_SECTIONS",
    "DEFAULT_ENGINE",
    "ENGINES",
    "BenchConfig",
    "ChunkConfig",
    "EvaluateConfig",
    "ExportConfig",
    "GenerateConfig",
    "ISA_CHOICES",
    "LLMConfig",
    "PipelineConfig",
    "ServeSettings",
    "TrainConfig",
    "as_json",
    "load_toml",
]


@dataclass(frozen=True)
class PipelineConfig:
    """`edgembed pipeline`: every stage, each skipped when its output is up to date.

    Attributes:
        generate: the generate stage's configuration (it holds the chunking too).
        train: the train stage's configuration.
        export: how the export is made (quantize, isa, accept_parity_loss, parity_texts); the
            pipeline fills in the model, the name (the train stage's) and the folder.
        questions: real questions for evaluate; None: DOCS/questions.jsonl when it exists.
        reranker: also train, evaluate and export a reranker (`train --reranker`).
        bench: run the short benchmark after the export.
        force: allow replacing a model or export whose inputs changed, and generate progress
            made with other options.
    """

    generate: GenerateConfig
    train: TrainConfig
    export: ExportConfig = field(default_factory=ExportConfig)
    questions: Path | None = None
    reranker: bool = False
    bench: bool = True
    force: bool = False
