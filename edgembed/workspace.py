"""The workspace: the one folder every stage reads its inputs from and writes its outputs to.

::

    WORKSPACE/
      chunks.jsonl                    chunk, generate
      pairs.train.jsonl, pairs.eval.jsonl   generate
      generate/                       generate's per-chunk progress (resume)
      models/<name>/                  train
      exports/<name>/                 export (manifest.json says what is inside)
      reports/{generate,evaluate,bench}.json (and .md, .png)

A documents folder may hold ``questions.jsonl``: real questions, read by evaluate, export and
bench, and never chunked or trained on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["CHUNKS_FILE", "QUESTIONS_FILE", "Workspace", "chunks_file"]

CHUNKS_FILE = "chunks.jsonl"
QUESTIONS_FILE = "questions.jsonl"
"""The real-question file a documents folder may hold (see `edgembed.evaluation.questions`)."""


def chunks_file(corpus: Path) -> Path:
    """A workspace's chunks.jsonl when `corpus` is a folder, else `corpus` itself."""
    return corpus / CHUNKS_FILE if corpus.is_dir() else corpus


@dataclass(frozen=True)
class Workspace:
    """The folder where every stage reads its inputs and writes its outputs."""

    root: Path

    @property
    def chunks(self) -> Path:
        return self.root / CHUNKS_FILE

    @property
    def pairs_train(self) -> Path:
        return self.root / "pairs.train.jsonl"

    @property
    def pairs_eval(self) -> Path:
        return self.root / "pairs.eval.jsonl"

    @property
    def generate_dir(self) -> Path:
        """Per-chunk progress of `generate`, kept so an interrupted run can resume."""
        return self.root / "generate"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def exports(self) -> Path:
        return self.root / "exports"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    def report(self, stage: str) -> Path:
        """The JSON report a stage writes: reports/STAGE.json."""
        return self.reports / f"{stage}.json"
