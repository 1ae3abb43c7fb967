"""`edgembed improve`: the marks people give become a better served model, safely.

From a served workspace (its chunks, its pairs, the export in service and the feedback database
the server filled): the newest marks are held out and never trained on; a candidate is trained
from the model in service on the synthetic pairs plus the other marks (each one several times:
they are few and worth more; passages marked as not answering are hard negatives); candidate and
model in service are compared on the held-out marks and, when given, on real questions; and the
candidate is promoted only when it is better on the marks and not worse on the questions: a new
export, version N+1 of the same model, whose manifest says where it came from. Serving it is the
operator's call (`edgembed serve ... --version`, then `edgembed versions default`): a new
embedding model makes the vectors already in a RAG index incomparable with its query vectors.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from edgembed.atomic import write_json
from edgembed.config import ExportConfig, TrainConfig
from edgembed.corpus import read_chunks
from edgembed.errors import InputError, ModelError
from edgembed.evaluation.bootstrap import paired_bootstrap
from edgembed.evaluation.retrieval import ndcg_per_query, top_k
from edgembed.evaluation.task import RetrievalTask, marks_task, real_questions_task
from edgembed.formats.feedback import Mark, read_marks
from edgembed.formats.manifest import Manifest, read_manifest
from edgembed.models import Prompts, describe_model, encode, find_export, load_sentence_transformer
from edgembed.workspace import Workspace

__all__ = ["ImproveConfig", "ImproveResult", "Judgement", "improve", "split_marks"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImproveConfig:
    """What `edgembed improve` trains on, how, and how it judges.

    Attributes:
        feedback: the feedback database the server wrote (`serve --feedback-db`).
        export: the export in service; None: the workspace's newest export.
        questions: real questions to judge on too (the candidate must not be worse there).
        holdout: the share of the marked queries, newest first, held out to judge on.
        min_holdout: fewer held-out questions than this say nothing: improve refuses.
        start: ``service`` (continue from the model in service) or ``base`` (train again from
            its base model).
        soup: the trained candidate's share of the weights of the model judged and promoted;
            the rest is the model in service's (trainer/train/soup.py). 1: as trained.
        train: the training recipe (its base model and name are improve's to set).
        tolerance: a change smaller than this is a tie, as in `evaluate`.
        device: where PyTorch runs.
    """

    feedback: Path
    export: Path | None = None
    questions: Path | None = None
    holdout: float = 0.25
    min_holdout: int = 10
    start: str = "service"
    soup: float = 1.0
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(epochs=1, mark_weight=4, max_minutes=10.0)
    )
    tolerance: float = 0.005
    device: str = "auto"


@dataclass(frozen=True)
class Judgement:
    """The model in service and the candidate on one set of questions."""

    name: str
    questions: int
    service: float
    candidate: float
    interval: tuple[float, float]

    @property
    def delta(self) -> float:
        return self.candidate - self.service

    def to_json(self) -> dict[str, Any]:
        return {
            "questions": self.questions,
            "service_ndcg_at_10": round(self.service, 4),
            "candidate_ndcg_at_10": round(self.candidate, 4),
            "delta": round(self.delta, 4),
            "delta_ci95": [round(v, 4) for v in self.interval],
        }


@dataclass(frozen=True)
class ImproveResult:
    """What improve trained, how the candidate compared, and what it promoted."""

    service: Manifest
    candidate_dir: Path
    trained_marks: int
    held_out_marks: int
    judgements: tuple[Judgement, ...]
    promoted: Path | None
    reason: str
    version: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "service": {"name": self.service.name, "version": self.service.version},
            "candidate": str(self.candidate_dir),
            "trained_marks": self.trained_marks,
            "held_out_marks": self.held_out_marks,
            "judgements": {j.name: j.to_json() for j in self.judgements},
            "promoted": str(self.promoted) if self.promoted else None,
            "version": self.version,
            "reason": self.reason,
        }


def split_marks(marks: Sequence[Mark], holdout: float) -> tuple[list[Mark], list[Mark]]:
    """(training, held out): the newest `holdout` share of the marked queries, with every mark
    of them, held out; a query's marks never land on both sides."""
    newest: dict[str, int] = {}
    for mark in marks:
        key = mark.query.strip()
        newest[key] = max(newest.get(key, 0), mark.id)
    order = sorted(newest, key=newest.__getitem__)
    held = set(order[len(order) - math.ceil(holdout * len(order)) :]) if order else set()
    return [m for m in marks if m.query.strip() not in held], [
        m for m in marks if m.query.strip() in held
    ]


def _ndcg(model_dir: Path, task: RetrievalTask, device: str) -> np.ndarray[Any, Any]:
    """Each question's NDCG@10 by the model in `model_dir`, over the task's corpus."""
    model = load_sentence_transformer(model_dir, device)
    prompts = Prompts.of(describe_model(model_dir))
    scores = (
        encode(model, task.queries, prompts.query) @ encode(model, task.corpus, prompts.document).T
    )
    return ndcg_per_query(top_k(scores, 10), [set(r) for r in task.relevant])


def _judge(
    name: str, task: RetrievalTask, service: Path, candidate: Path, device: str
) -> Judgement:
    before, after = _ndcg(service, task, device), _ndcg(candidate, task, device)
    return Judgement(
        name, len(task.queries), float(before.mean()), float(after.mean()),
        paired_bootstrap(before, after),
    )  # fmt: skip


def _verdict(judgements: Sequence[Judgement], tolerance: float) -> tuple[bool, str]:
    """Promote only when better on the held-out marks and not worse on real questions."""
    marks = judgements[0]
    low, _ = marks.interval
    if not (marks.delta >= tolerance and low > 0):
        return False, (
            f"not better on the {marks.questions} held-out marked questions ({marks.delta:+.3f} "
            f"NDCG@10, 95% interval {low:+.3f} to {marks.interval[1]:+.3f})"
        )
    for other in judgements[1:]:
        if other.delta <= -tolerance and other.interval[1] < 0:
            return False, f"worse on {other.name} ({other.delta:+.3f} NDCG@10)"
    return True, f"better on the held-out marks ({marks.delta:+.3f} NDCG@10, interval above 0)"


def _service_model(manifest: Manifest, export_dir: Path) -> Path:
    folder = Path(manifest.source_model)
    if not (folder / "modules.json").exists():
        raise ModelError(
            f"the model in service ({export_dir}) was exported from {folder}, which is not a "
            "model folder on this machine. Run improve where the model was trained, or pass "
            "--start base to train again from its base model."
        )
    return folder


def _next_version(workspace: Workspace, service: Manifest) -> int:
    """One above the model in service and every version of it in the workspace's exports."""
    versions = [
        read_manifest(p.parent).version
        for p in workspace.exports.glob("*/manifest.json")
        if read_manifest(p.parent).name == service.name
    ]
    return max([service.version, *versions]) + 1


def _candidate(
    config: ImproveConfig, workspace: Workspace, service: Manifest, start: str,
    trained: Sequence[Mark], version: int, service_dir: Path,
) -> Path:  # fmt: skip
    """Train the candidate on the pairs and the training marks, from `start`; average it with
    the model in service by `config.soup`."""
    from edgembed.trainer.train import train_model
    from edgembed.trainer.train.soup import average_into

    recipe = replace(
        config.train, base_model=start, name=f"{service.name}-v{version}", force=True,
        device=config.device,
    )  # fmt: skip
    lineage = {
        "improved_from": f"{service.name}@v{service.version}",
        "start": config.start,
        "soup": config.soup,
        "marks": len(trained),
        "newest_mark_id": max((m.id for m in trained), default=0),
    }
    model_dir = train_model(recipe, workspace, marks=trained, lineage=lineage).model_dir
    if config.soup < 1:
        average_into(model_dir, service_dir, config.soup)
    return model_dir


def improve(config: ImproveConfig, workspace: Workspace) -> ImproveResult:
    """Train a candidate from the marks, judge it against the model in service, and export it
    as the next version when it is better (see the module docstring).

    Raises:
        InputError: the feedback database is missing, or holds too few marks to judge on.
        ModelError, ManifestError: the model in service or its export cannot be used.
    """
    export_dir = find_export(config.export, workspace)
    service = read_manifest(export_dir)
    service_dir = _service_model(service, export_dir)
    start = str(service_dir) if config.start == "service" else (service.base_model or "")
    if not start:
        raise ModelError(f"{export_dir}'s manifest names no base model: use --start service.")
    chunks = read_chunks(workspace.chunks)
    trained, held = split_marks(read_marks(config.feedback), config.holdout)
    task = marks_task(chunks, held)
    if len(task.queries) < config.min_holdout:
        raise InputError(
            f"{config.feedback} holds {len(task.queries)} held-out marked questions; improve "
            f"needs {config.min_holdout} to tell a better model from noise. Collect more marks "
            "(the playground offers first the questions the model is least sure of)."
        )
    version = _next_version(workspace, service)
    candidate = _candidate(config, workspace, service, start, trained, version, service_dir)
    judgements = [_judge("held-out marks", task, service_dir, candidate, config.device)]
    if config.questions is not None:
        real = real_questions_task(chunks, config.questions)
        judgements.append(_judge("real questions", real, service_dir, candidate, config.device))
    promote, reason = _verdict(judgements, config.tolerance)
    promoted = (
        _promote(config, workspace, service, candidate, version, judgements) if promote else None
    )
    result = ImproveResult(
        service, candidate, len(trained), len(held), tuple(judgements), promoted, reason, version
    )
    write_json(workspace.report("improve"), result.to_json())
    return result


def _promote(
    config: ImproveConfig, workspace: Workspace, service: Manifest, candidate: Path,
    version: int, judgements: Sequence[Judgement],
) -> Path:  # fmt: skip
    """Export the candidate as version `version`, its lineage in the manifest."""
    from edgembed.exporter import export_model

    out = workspace.exports / f"{service.name}-v{version}"
    lineage = {
        "improved_from": f"{service.name}@v{service.version}",
        "base_model": service.base_model,
        "candidate": str(candidate),
        "feedback": str(config.feedback),
        "recipe": {
            "start": config.start,
            "soup": config.soup,
            "epochs": config.train.epochs,
            "learning_rate": config.train.learning_rate,
            "mark_weight": config.train.mark_weight,
            "replay": config.train.replay,
            "hard_negatives": config.train.hard_negatives,
        },
        "judgements": {j.name: j.to_json() for j in judgements},
    }
    export = ExportConfig(
        model=str(candidate), name=service.name, out=out, force=True, version=version,
        lineage=lineage, questions=config.questions,
    )  # fmt: skip
    return export_model(export, workspace).out
