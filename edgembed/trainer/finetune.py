"""Fine-tuning with sentence-transformers: contrastive loss, per-epoch retrieval evaluation over
the whole chunk corpus, best checkpoint kept, model folder written atomically.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgembed.atomic import write_json
from edgembed.config import TrainConfig
from edgembed.corpus import Chunk
from edgembed.errors import MissingExtraError, OutputExistsError, TrainingError
from edgembed.models import (
    TRAINING_METRICS,
    load_sentence_transformer,
    pick_device,
    resolve_model,
)
from edgembed.progress import progress_enabled
from edgembed.trainer.budget import (
    BudgetPlan,
    deadline_callback,
    plan_pairs,
    thin_evenly,
    time_training_step,
)
from edgembed.trainer.model_card import write_model_card
from edgembed.trainer.training_data import (
    TrainingData,
    heldout_texts,
    load_training_data,
    mine_hard_negatives,
)
from edgembed.trainer.usage import FeedbackRow, label_queries, read_feedback, read_query_log
from edgembed.workspace import Workspace

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.evaluation import (
        InformationRetrievalEvaluator,
    )

__all__ = [
    "TrainResult",
    "corpus_evaluator",
    "fit_max_seq_length",
    "freeze_token_embeddings",
    "merge_with_base",
    "train_model",
    "use_bf16",
]

log = logging.getLogger(__name__)


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
    metrics: dict[str, Any]


def merge_with_base(model: SentenceTransformer, base: dict[str, Any], weight: float) -> None:
    """Set the model's weights to ``base + weight * (model - base)`` in place (WiSE-FT).

    Non-float tensors (position ids, counters) keep the fine-tuned model's values.
    """
    import torch

    if weight >= 1:
        return
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if tensor.is_floating_point() and name in base:
                tensor.copy_(torch.lerp(base[name].to(tensor.device), tensor, weight))


def fit_max_seq_length(model: SentenceTransformer, chunks: Sequence[Chunk]) -> int:
    """The model's own token window, with a warning when many passages do not fit in it.

    A longer window than the model was trained with embeds worse, not better: all-MiniLM-L6-v2
    ships with 256 tokens, and at 512 its NDCG@10 fell 3.1 points on a FAQ corpus. So passages
    are cut to fit the model (`chunk --chunk-words`), not the model stretched to the passages.
    """
    window = int(model.max_seq_length or 128)
    tokenizer = model.tokenizer
    lengths = [len(tokenizer(chunk.text, verbose=False)["input_ids"]) for chunk in chunks]
    longer = sum(n > window for n in lengths)
    if lengths and longer > 0.25 * len(lengths):
        log.warning(
            "%d of %d chunks are longer than the model's %d-token window and lose their end; "
            "re-chunk with a smaller --chunk-words (about %d words fit), or pass "
            "--max-seq-length to train on longer passages",
            longer,
            len(lengths),
            window,
            window * 3 // 4,
        )
    return window


def corpus_evaluator(data: TrainingData, name: str = "corpus") -> InformationRetrievalEvaluator:
    """An IR evaluator: eval questions against the whole chunk corpus, where the eval chunks
    lose the sentences their queries were taken from (see `heldout_texts`)."""
    from sentence_transformers.sentence_transformer.evaluation import (
        InformationRetrievalEvaluator,
    )

    heldout = heldout_texts(data.eval, data.chunks)
    queries = {f"q{i}": pair.query for i, pair in enumerate(data.eval)}
    relevant = {f"q{i}": {pair.positive_id} for i, pair in enumerate(data.eval)}
    return InformationRetrievalEvaluator(
        queries=queries,
        corpus={chunk.id: heldout.get(chunk.id, chunk.text) for chunk in data.chunks},
        relevant_docs=relevant,
        name=name,
        accuracy_at_k=[1, 3, 5],
        precision_recall_at_k=[10],
        mrr_at_k=[10],
        ndcg_at_k=[10],
        map_at_k=[10],
        show_progress_bar=False,
        write_csv=False,
    )


def _dataset(
    model: SentenceTransformer,
    data: TrainingData,
    config: TrainConfig,
    negatives: dict[str, list[str]],
) -> Any:
    """The training table; with hard negatives (asked for, or marked by people in feedback)
    every row gets one: a person's where there is one, else one mined with the base model."""
    from datasets import Dataset

    columns = {
        "anchor": [p.query for p in data.train],
        "positive": [p.positive for p in data.train],
    }
    if config.hard_negatives or negatives:
        log.info("mining hard negatives with the base model")
        mined = mine_hard_negatives(model, data.train, data.chunks)
        columns["negative"] = [
            negatives[p.query][0] if p.query in negatives else negative
            for p, negative in zip(data.train, mined, strict=True)
        ]
    return Dataset.from_dict(columns)


def _read_usage(config: TrainConfig) -> tuple[list[str], list[FeedbackRow]] | None:
    """The logged queries and feedback rows to train on, read before anything is written."""
    if config.queries is None and config.feedback is None:
        return None
    queries = read_query_log(config.queries) if config.queries else []
    feedback = read_feedback(config.feedback) if config.feedback else []
    return queries, feedback


def _add_usage(
    model: SentenceTransformer,
    data: TrainingData,
    used: tuple[list[str], list[FeedbackRow]] | None,
) -> tuple[TrainingData, dict[str, list[str]], dict[str, Any]]:
    """Add the labelled logged queries and the feedback to the training pairs."""
    if used is None:
        return data, {}, {}
    queries, feedback = used
    held_out = frozenset(pair.positive_id for pair in data.eval)
    usage = label_queries(queries, feedback, data.chunks, model, exclude=held_out)
    kinds = Counter(pair.kind for pair in usage.pairs)
    summary = {
        "logged_queries": usage.queries,
        "logged_kept": kinds["logged"],
        "feedback_positives": kinds["feedback"],
        "feedback_negatives": sum(len(v) for v in usage.negatives.values()),
        "dropped": dict(usage.dropped),
    }
    log.info("real queries and feedback: %s", summary)
    return replace(data, train=data.train + tuple(usage.pairs)), usage.negatives, summary


def _loss(model: SentenceTransformer, config: TrainConfig) -> Any:
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


def _fit_budget(
    config: TrainConfig,
    model: SentenceTransformer,
    loss: Any,
    data: TrainingData,
    eval_seconds: float,
    begun: float,
    device: str,
    hard_negatives: bool,
) -> BudgetPlan | None:
    """Time a step and plan how many pairs fit --max-minutes (None: no limit)."""
    if not config.max_minutes:
        return None
    step = time_training_step(
        model,
        loss,
        data.train,
        batch_size=config.batch_size,
        bf16=use_bf16(config.precision, device),
        negatives=hard_negatives,
    )
    plan = plan_pairs(
        pairs=len(data.train),
        batch_size=config.batch_size,
        epochs=config.epochs,
        budget_seconds=config.max_minutes * 60,
        step_seconds=step,
        eval_seconds=eval_seconds,
        spent_seconds=time.perf_counter() - begun,
    )
    if plan.thinned:
        log.warning(
            "time budget: all %d training pairs would take about %.0f min on this machine "
            "(%.2f s a step, %d steps); training on %d of them, thinned evenly over the chunks, "
            "to end within --max-minutes %g. Pass --max-minutes 0 for no limit.",
            plan.pairs,
            plan.all_seconds / 60,
            step,
            plan.all_steps,
            plan.kept,
            config.max_minutes,
        )
    else:
        log.info("time budget: %d pairs fit --max-minutes %g", plan.pairs, config.max_minutes)
    return plan


def use_bf16(precision: str, device: str) -> bool:
    """Whether to train in bfloat16 mixed precision: asked for, or `auto` on hardware that
    computes bfloat16 natively (emulated bfloat16 is slower than fp32)."""
    if precision != "auto":
        return precision == "bf16"
    import torch

    if device == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    native = getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    amx = getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    return bool(native() or amx())


def freeze_token_embeddings(model: SentenceTransformer) -> int:
    """Stop training the token embedding table; returns how many weights were frozen."""
    transformer: Any = model[0]
    table = transformer.auto_model.get_input_embeddings()
    frozen = 0
    for parameter in table.parameters():
        parameter.requires_grad = False
        frozen += parameter.numel()
    return frozen


def _arguments(config: TrainConfig, output: Path, metric: str, device: str) -> Any:
    from sentence_transformers import SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer.training_args import BatchSamplers

    return SentenceTransformerTrainingArguments(
        output_dir=str(output),
        num_train_epochs=config.epochs,
        per_device_train_batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        warmup_ratio=config.warmup_ratio,
        batch_sampler=BatchSamplers.NO_DUPLICATES,
        eval_strategy="epoch",
        save_strategy="epoch",
        save_total_limit=1,
        load_best_model_at_end=True,
        metric_for_best_model=metric,
        greater_is_better=True,
        logging_strategy="epoch",
        report_to="none",
        seed=config.seed,
        data_seed=config.seed,
        use_cpu=device == "cpu",
        bf16=use_bf16(config.precision, device),
        disable_tqdm=not progress_enabled(),
        save_only_model=True,
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


def _prepare_output(workspace: Workspace, config: TrainConfig) -> tuple[Path, Path]:
    target = workspace.models / config.name
    if target.exists() and not config.force:
        raise OutputExistsError(
            f"{target} already exists. Pass --force to overwrite it, or --name to train another."
        )
    staging = workspace.models / f".{config.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    return target, staging


def _publish(staging: Path, target: Path) -> None:
    """Swap the finished model in: the old folder is removed only once the new one is whole."""
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def train_model(config: TrainConfig, workspace: Workspace) -> TrainResult:
    """Fine-tune `config.base_model` on the workspace's pairs and write models/<name>/.

    Raises:
        InputError: pairs or chunks are missing.
        ModelError: the base model is not available offline.
        OutputExistsError: the model folder exists and config.force is false.
        TrainingError: training failed (out of memory: the message suggests a smaller batch).
    """
    try:
        from sentence_transformers import SentenceTransformerTrainer
    except ImportError as exc:
        raise MissingExtraError("sentence-transformers", "train") from exc
    begun = time.perf_counter()
    data = load_training_data(workspace)
    used = _read_usage(config)
    target, staging = _prepare_output(workspace, config)
    device = pick_device(config.device)
    model = load_sentence_transformer(config.base_model, device)
    model.max_seq_length = config.max_seq_length or fit_max_seq_length(model, data.chunks)
    log.info("max_seq_length %d tokens", model.max_seq_length)
    if config.freeze_embeddings:
        log.info("token embeddings frozen (%d weights)", freeze_token_embeddings(model))
    data, negatives, usage = _add_usage(model, data, used)
    evaluator = corpus_evaluator(data)
    evaluated = time.perf_counter()
    base_scores = evaluator(model)
    eval_seconds = time.perf_counter() - evaluated
    metric_key = str(evaluator.primary_metric)
    base_weights = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
    loss = _loss(model, config)
    hard_negatives = bool(config.hard_negatives or negatives)
    plan = _fit_budget(config, model, loss, data, eval_seconds, begun, device, hard_negatives)
    if plan is not None and plan.thinned:
        data = replace(data, train=thin_evenly(data.train, plan.kept))
    started = time.perf_counter()
    trainer = SentenceTransformerTrainer(
        model=model,
        args=_arguments(config, staging / "checkpoints", f"eval_{metric_key}", device),
        train_dataset=_dataset(model, data, config, negatives),
        loss=loss,
        evaluator=evaluator,
    )
    _quiet_callbacks(trainer)
    deadline = None
    if plan is not None:
        deadline = deadline_callback(begun + plan.budget_seconds, plan.closing_seconds)
        trainer.add_callback(deadline)
    try:
        trainer.train()
    except (RuntimeError, MemoryError) as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if "out of memory" in str(exc).lower() or isinstance(exc, MemoryError):
            raise TrainingError(
                f"out of memory with batch size {config.batch_size}. Use a smaller --batch-size, "
                "or --loss cached-mnrl to keep the batch with less memory."
            ) from exc
        raise TrainingError(f"training failed: {exc}") from exc
    seconds = time.perf_counter() - started
    if deadline is not None and deadline.stopped_at is not None:
        log.warning(
            "time budget: steps ran slower than timed; training stopped at step %d of %d to "
            "end within --max-minutes %g (the partial epoch was evaluated like the others)",
            deadline.stopped_at,
            trainer.state.max_steps,
            config.max_minutes,
        )
    history = [row for row in trainer.state.log_history if f"eval_{metric_key}" in row]
    best = max(history, key=lambda row: row[f"eval_{metric_key}"])
    shutil.rmtree(staging / "checkpoints", ignore_errors=True)
    merge_with_base(model, base_weights, config.finetuned_weight)
    saved_scores = evaluator(model) if config.finetuned_weight < 1 else None
    saved_ndcg = float(saved_scores[metric_key] if saved_scores else best[f"eval_{metric_key}"])
    model.save(str(staging))
    metrics = {
        "base_model": config.base_model,
        "base_model_path": str(resolve_model(config.base_model)),
        "config": {
            **asdict(config),
            "matryoshka_dims": list(config.matryoshka_dims),
            "queries": str(config.queries) if config.queries else None,
            "feedback": str(config.feedback) if config.feedback else None,
        },
        "device": device,
        "max_seq_length": model.max_seq_length,
        "data": {
            "chunks": len(data.chunks),
            "train_pairs": len(data.train),
            "eval_pairs": len(data.eval),
        },
        "usage": usage,
        "time_budget": (
            {**plan.to_json(), "stopped_at_step": deadline.stopped_at if deadline else None}
            if plan
            else None
        ),
        "metric": metric_key,
        "base": {k: float(v) for k, v in base_scores.items()},
        "epochs": [
            {
                "epoch": row["epoch"],
                **{k.removeprefix("eval_"): v for k, v in row.items() if k.startswith("eval_")},
            }
            for row in history
        ],
        "best_epoch": best["epoch"],
        "best_ndcg_at_10": float(best[f"eval_{metric_key}"]),
        "base_ndcg_at_10": float(base_scores[metric_key]),
        "finetuned_weight": config.finetuned_weight,
        "saved": {k: float(v) for k, v in (saved_scores or {}).items()},
        "saved_ndcg_at_10": saved_ndcg,
        "train_seconds": round(seconds, 1),
    }
    write_json(staging / TRAINING_METRICS, metrics)
    write_model_card(staging, metrics)
    _publish(staging, target)
    return TrainResult(
        model_dir=target,
        base_ndcg_at_10=metrics["base_ndcg_at_10"],
        best_ndcg_at_10=metrics["best_ndcg_at_10"],
        best_epoch=float(best["epoch"]),
        saved_ndcg_at_10=saved_ndcg,
        seconds=seconds,
        metrics=metrics,
    )
