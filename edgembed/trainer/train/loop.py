"""The training loop itself: sentence-transformers' trainer with edgembed's loss, data, settings
and callbacks, and what it reports back."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgembed.config import TrainConfig
from edgembed.errors import TrainingError
from edgembed.models.encode import Prompts
from edgembed.progress import progress_enabled
from edgembed.trainer.train.data import TrainingData, mine_hard_negatives
from edgembed.trainer.train.model_setup import use_bf16

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["FitJob", "FitOutcome", "build_loss", "fit"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FitOutcome:
    """What the loop did: every evaluated epoch's figures, the best one, the time it took,
    and the step a deadline stopped it at (None when it ran to the end)."""

    history: list[dict[str, Any]]
    best: dict[str, Any]
    seconds: float
    max_steps: int
    stopped_at: int | None


def build_loss(model: SentenceTransformer, config: TrainConfig) -> Any:
    """MultipleNegativesRankingLoss (or its cached form), Matryoshka-wrapped when asked."""
    from sentence_transformers.sentence_transformer import losses

    loss: Any
    if config.loss == "cached-mnrl":
        loss = losses.CachedMultipleNegativesRankingLoss(
            model, mini_batch_size=config.mini_batch_size
        )
    else:
        loss = losses.MultipleNegativesRankingLoss(model)
    if config.matryoshka_dims:
        return losses.MatryoshkaLoss(model, loss, matryoshka_dims=list(config.matryoshka_dims))
    return loss


def _dataset(
    model: SentenceTransformer,
    data: TrainingData,
    config: TrainConfig,
    negatives: dict[str, list[str]],
    prompts: Prompts,
) -> Any:
    """The training table; with hard negatives (asked for, or marked by people in feedback)
    every row gets `negative_columns(config, negatives)` of them: a person's first where there
    is one, then those mined with the base model."""
    from datasets import Dataset

    columns = {
        "anchor": [p.query for p in data.train],
        "positive": [p.positive for p in data.train],
    }
    count = negative_columns(config, negatives)
    if count:
        log.info("mining %d hard negative(s) a pair with the base model", count)
        mined = mine_hard_negatives(model, data.train, data.chunks, prompts, count=count)
        rows = [
            _persons_first(negatives[p.query][0], found) if p.query in negatives else found
            for p, found in zip(data.train, mined, strict=True)
        ]
        for column in range(count):
            name = "negative" if column == 0 else f"negative_{column + 1}"
            columns[name] = [row[column] for row in rows]
    return Dataset.from_dict(columns)


def _persons_first(marked: str, mined: list[str]) -> list[str]:
    """A person's negative, then the mined ones that are not the same passage, as many as
    were mined."""
    return ([marked] + [text for text in mined if text != marked])[: len(mined)]


def negative_columns(config: TrainConfig, negatives: dict[str, list[str]]) -> int:
    """Hard negatives a training row carries: --hard-negatives, and at least one when people
    marked passages as not answering."""
    return max(config.hard_negatives, 1 if negatives else 0)


def epoch_arguments(config: TrainConfig, output: Path, metric: str, device: str) -> dict[str, Any]:
    """The training arguments every trainer here shares: `config`'s schedule, an evaluation
    and a checkpoint each epoch, the best epoch by `metric` kept, seeded, no reporting."""
    return {
        "output_dir": str(output),
        "num_train_epochs": config.epochs,
        "per_device_train_batch_size": config.batch_size,
        "learning_rate": config.learning_rate,
        "warmup_ratio": config.warmup_ratio,
        "eval_strategy": "epoch",
        "save_strategy": "epoch",
        "save_total_limit": 1,
        "load_best_model_at_end": True,
        "metric_for_best_model": metric,
        "greater_is_better": True,
        "logging_strategy": "epoch",
        "report_to": "none",
        "seed": config.seed,
        "data_seed": config.seed,
        "use_cpu": device == "cpu",
        "save_only_model": True,
    }


def _arguments(
    config: TrainConfig, output: Path, metric: str, device: str, prompts: Prompts
) -> Any:
    from sentence_transformers import SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer.training_args import BatchSamplers

    return SentenceTransformerTrainingArguments(
        **epoch_arguments(config, output, metric, device),
        batch_sampler=BatchSamplers.NO_DUPLICATES,
        bf16=use_bf16(config.precision, device),
        disable_tqdm=not progress_enabled(),
        # Each column gets its side's prompt, as sentence-transformers' own prompt support
        # applies it (and the served model applies it at query and indexing time).
        prompts=(
            {"anchor": prompts.query, "positive": prompts.document, "negative": prompts.document}
            if prompts.any
            else None
        ),
    )


def _quiet_callbacks(trainer: Any) -> None:
    """Keep the progress bar (unless --quiet) but not the raw metric dicts transformers prints
    at every log step; the figures go to edgembed_training.json and the final table."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    class BarOnly(ProgressCallback):
        def on_log(self, *args: Any, **kwargs: Any) -> None:
            log.info("%s", kwargs.get("logs"))

    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    if progress_enabled():
        trainer.add_callback(BarOnly)


@dataclass(frozen=True)
class FitJob:
    """Everything one run of the loop needs."""

    model: SentenceTransformer
    data: TrainingData
    config: TrainConfig
    loss: Any
    evaluator: Any
    negatives: dict[str, list[str]]
    checkpoints: Path
    device: str
    deadline: Any = None
    prompts: Prompts = Prompts()


def fit(job: FitJob) -> FitOutcome:
    """Train, evaluating every epoch and keeping the best one (loaded back at the end).

    Raises:
        TrainingError: out of memory (the message suggests a smaller batch), or training
            failed otherwise.
    """
    from sentence_transformers import SentenceTransformerTrainer

    metric = f"eval_{job.evaluator.primary_metric}"
    trainer = SentenceTransformerTrainer(
        model=job.model,
        args=_arguments(job.config, job.checkpoints, metric, job.device, job.prompts),
        train_dataset=_dataset(job.model, job.data, job.config, job.negatives, job.prompts),
        loss=job.loss,
        evaluator=job.evaluator,
    )
    _quiet_callbacks(trainer)
    if job.deadline is not None:
        trainer.add_callback(job.deadline)
    started = time.perf_counter()
    try:
        trainer.train()
    except (RuntimeError, MemoryError) as exc:
        if "out of memory" in str(exc).lower() or isinstance(exc, MemoryError):
            raise TrainingError(
                f"out of memory with batch size {job.config.batch_size}. Use a smaller "
                "--batch-size, or --loss cached-mnrl to keep the batch with less memory."
            ) from exc
        raise TrainingError(f"training failed: {exc}") from exc
    history = [row for row in trainer.state.log_history if metric in row]
    return FitOutcome(
        history=history,
        best=max(history, key=lambda row: row[metric]),
        seconds=time.perf_counter() - started,
        max_steps=int(trainer.state.max_steps),
        stopped_at=getattr(job.deadline, "stopped_at", None),
    )
