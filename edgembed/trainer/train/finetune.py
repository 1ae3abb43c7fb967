"""`edgembed train`: fine-tune with sentence-transformers, evaluate every epoch on the eval
pairs' retrieval task over the whole chunk corpus, keep the best epoch, save its weights
averaged with the base model's, and write the model folder atomically.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgembed.atomic import staging_folder, swap_in
from edgembed.config import TrainConfig, as_json
from edgembed.errors import MissingExtraError, OutputExistsError
from edgembed.evaluation.task import RetrievalTask, eval_pairs_task
from edgembed.formats.feedback import Mark
from edgembed.formats.training_record import TrainingRecord
from edgembed.models import (
    Prompts,
    describe_model,
    load_sentence_transformer,
    pick_device,
    resolve_model,
)
from edgembed.trainer.train.budget import (
    EVAL_MIN_PASSAGES,
    EVAL_SHARE,
    BudgetPlan,
    deadline_callback,
    eval_passages,
    plan_budget,
    thin_evenly,
    time_encoding,
)
from edgembed.trainer.train.data import TrainingData, load_training_data
from edgembed.trainer.train.evaluator import corpus_evaluator
from edgembed.trainer.train.loop import FitJob, FitOutcome, build_loss, fit, negative_columns
from edgembed.trainer.train.marks import add_usage, read_usage
from edgembed.trainer.train.model_card import write_model_card
from edgembed.trainer.train.model_setup import (
    attention_dropout,
    fit_max_seq_length,
    freeze_token_embeddings,
    merge_with_base,
    recompute_activations,
    restore_attention_dropout,
)
from edgembed.workspace import Workspace

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["TrainResult", "train_model"]

log = logging.getLogger(__name__)

EVAL_QUERIES = 1000
EVAL_PASSAGES = 5000


@dataclass(frozen=True)
class TrainResult:
    """Where the model went and how it scored on the eval pairs (NDCG@10 over the corpus):
    the base model, the best epoch, and the saved model (the best epoch merged with the base)."""

    model_dir: Path
    base_ndcg_at_10: float
    best_ndcg_at_10: float
    best_epoch: float
    saved_ndcg_at_10: float
    seconds: float
    record: TrainingRecord


@dataclass
class _Run:
    """One training run as it goes: the model, its data, and what was measured before it."""

    config: TrainConfig
    model: SentenceTransformer
    data: TrainingData
    device: str
    begun: float
    negatives: dict[str, list[str]]
    usage: dict[str, Any]
    prompts: Prompts
    evaluator: Any = None


def _prepare_output(workspace: Workspace, config: TrainConfig) -> tuple[Path, Path]:
    target = workspace.models / config.name
    if target.exists() and not config.force:
        raise OutputExistsError(
            f"{target} already exists. Pass --force to overwrite it, or --name to train another."
        )
    return target, staging_folder(target)


def _start(
    config: TrainConfig, workspace: Workspace, begun: float, marks: Sequence[Mark] | None
) -> tuple[_Run, Path, Path]:
    """Read the inputs, load the model, and add what people logged and marked."""
    data = load_training_data(workspace)
    if config.replay < 1:
        kept = max(2, round(len(data.train) * config.replay))
        data = replace(data, train=thin_evenly(data.train, kept))
    used = read_usage(config.queries, config.feedback)
    if marks is not None:
        used = (used[0] if used else [], [*(used[1] if used else []), *marks])
    target, staging = _prepare_output(workspace, config)
    device = pick_device(config.device)
    path = resolve_model(config.base_model)
    prompts = Prompts.of(describe_model(path))
    if prompts.any:
        log.info("prompts: query %r, document %r", prompts.query, prompts.document)
    model = load_sentence_transformer(
        path, device, attention_dropout(path, config.attention_dropout)
    )
    model.max_seq_length = config.max_seq_length or fit_max_seq_length(model, data.chunks)
    log.info("max_seq_length %d tokens", model.max_seq_length)
    if config.freeze_embeddings:
        log.info("token embeddings frozen (%d weights)", freeze_token_embeddings(model))
    if config.recompute_activations and recompute_activations(model):
        log.info("activations recomputed in the backward pass (gradient checkpointing)")
    data, negatives, usage = add_usage(model, data, used, prompts, config.mark_weight)
    run = _Run(config, model, data, device, begun, negatives, usage, prompts)
    return run, target, staging


def _budget(run: _Run, loss: Any, eval_seconds: float) -> BudgetPlan | None:
    """Plan the pairs that fit the time budget and thin the run's pairs to them."""
    hard = negative_columns(run.config, run.negatives)
    plan = plan_budget(
        run.config, run.model, loss, run.data.train, eval_seconds, run.begun, run.device, hard
    )
    if plan is not None and plan.thinned:
        run.data = replace(run.data, train=thin_evenly(run.data.train, plan.kept))
    return plan


def _eval_task(run: _Run) -> RetrievalTask:
    """The eval pairs against the corpus, or against a sample of it (their answers and others
    at random) small enough that scoring every epoch leaves the time budget to training."""
    task = eval_pairs_task(run.data.chunks, run.data.eval)
    passages, seconds = EVAL_PASSAGES, 0.0
    if run.config.max_minutes and len(task.corpus) > EVAL_MIN_PASSAGES:
        seconds = time_encoding(run.model, task.corpus, run.prompts.document)
        evaluations = run.config.epochs + 2  # the base, each epoch, the merge
        passages = eval_passages(run.config.max_minutes * 60, seconds, evaluations, passages)
    sample = task.at_most(EVAL_QUERIES, passages, run.config.seed)
    if seconds and len(sample.corpus) < len(task.corpus):
        log.info(
            "time budget: each evaluation scores the eval pairs against %d of the %d passages "
            "(%.0f ms a passage here), so evaluating takes about %.0f%% of --max-minutes %g",
            len(sample.corpus), len(task.corpus), seconds * 1000, EVAL_SHARE * 100,
            run.config.max_minutes,
        )  # fmt: skip
    return sample


def _train(run: _Run, staging: Path) -> tuple[dict[str, float], FitOutcome, BudgetPlan | None]:
    """Score the base model, then train; returns the base's scores, the loop's outcome and
    the time budget's plan."""
    task = _eval_task(run)
    evaluator = run.evaluator = corpus_evaluator(task, run.prompts)
    evaluated = time.perf_counter()
    base_scores = {k: float(v) for k, v in evaluator(run.model).items()}
    loss = build_loss(run.model, run.config)
    plan = _budget(run, loss, time.perf_counter() - evaluated)
    deadline = None
    if plan is not None:
        deadline = deadline_callback(run.begun + plan.budget_seconds, plan.closing_seconds)
    job = FitJob(
        run.model, run.data, run.config, loss, evaluator, run.negatives,
        staging / "checkpoints", run.device, deadline, run.prompts,
    )  # fmt: skip
    outcome = fit(job)
    if outcome.stopped_at is not None:
        log.warning(
            "time budget: steps ran slower than timed; training stopped at step %d of %d to "
            "end within --max-minutes %g (the partial epoch was evaluated like the others)",
            outcome.stopped_at,
            outcome.max_steps,
            run.config.max_minutes,
        )
    shutil.rmtree(staging / "checkpoints", ignore_errors=True)
    return base_scores, outcome, plan


def _record(
    run: _Run,
    base_scores: dict[str, float],
    outcome: FitOutcome,
    plan: BudgetPlan | None,
    saved: dict[str, float],
) -> TrainingRecord:
    metric = str(run.evaluator.primary_metric)
    best = float(outcome.best[f"eval_{metric}"])
    config = run.config
    return TrainingRecord(
        base_model=config.base_model,
        base_model_path=str(resolve_model(config.base_model)),
        config=as_json(config),
        device=run.device,
        max_seq_length=int(run.model.max_seq_length or 0),
        data={
            "chunks": len(run.data.chunks),
            "train_pairs": len(run.data.train),
            "eval_pairs": len(run.data.eval),
        },
        usage=run.usage,
        time_budget=({**plan.to_json(), "stopped_at_step": outcome.stopped_at} if plan else None),
        metric=metric,
        base=base_scores,
        epochs=tuple(
            {
                "epoch": row["epoch"],
                **{k.removeprefix("eval_"): v for k, v in row.items() if k.startswith("eval_")},
            }
            for row in outcome.history
        ),  # fmt: skip
        best_epoch=float(outcome.best["epoch"]),
        best_ndcg_at_10=best,
        base_ndcg_at_10=base_scores[metric],
        finetuned_weight=config.finetuned_weight,
        saved=saved,
        saved_ndcg_at_10=float(saved[metric]) if saved else best,
        train_seconds=round(outcome.seconds, 1),
    )


def train_model(
    config: TrainConfig,
    workspace: Workspace,
    marks: Sequence[Mark] | None = None,
    lineage: Mapping[str, Any] | None = None,
) -> TrainResult:
    """Fine-tune `config.base_model` on the workspace's pairs and write models/<name>/.

    Args:
        marks: people's marks to train on beside `config.feedback`'s (`edgembed improve`
            hands over the ones it does not hold out).
        lineage: where the data came from beyond the workspace's pairs, for the record.

    Raises:
        InputError: pairs or chunks are missing.
        ModelError: the base model is not available offline.
        OutputExistsError: the model folder exists and config.force is false.
        TrainingError: training failed (out of memory: the message suggests a smaller batch).
    """
    try:
        import sentence_transformers  # noqa: F401
    except ImportError as exc:
        raise MissingExtraError("sentence-transformers", "train") from exc
    run, target, staging = _start(config, workspace, time.perf_counter(), marks)
    try:
        base_weights = {
            k: v.detach().to("cpu", copy=True) for k, v in run.model.state_dict().items()
        }
        base_scores, outcome, plan = _train(run, staging)
        merge_with_base(run.model, base_weights, config.finetuned_weight)
        saved = {}
        if config.finetuned_weight < 1:
            saved = {k: float(v) for k, v in run.evaluator(run.model).items()}
        if config.attention_dropout is not None:
            transformer: Any = run.model[0]
            restore_attention_dropout(
                transformer.auto_model.config, resolve_model(config.base_model)
            )
        run.model.save(str(staging))
        record = replace(_record(run, base_scores, outcome, plan, saved), lineage=lineage or {})
        record.write(staging)
        write_model_card(staging, record.to_json())
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    swap_in(staging, target)
    return TrainResult(
        model_dir=target,
        base_ndcg_at_10=record.base_ndcg_at_10,
        best_ndcg_at_10=record.best_ndcg_at_10,
        best_epoch=record.best_epoch,
        saved_ndcg_at_10=record.saved_ndcg_at_10,
        seconds=outcome.seconds,
        record=record,
    )
