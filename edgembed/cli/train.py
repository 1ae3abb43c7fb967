"""`edgembed train`: fine-tune an embedding model on the workspace's pairs."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from edgembed.cli.options import (
    CliState,
    bundle,
    defaults_of,
    device_option,
    force_option,
    pass_state,
    seed_option,
)
from edgembed.cli.table import format_table
from edgembed.config import TrainConfig
from edgembed.errors import ConfigError

if TYPE_CHECKING:
    from edgembed.trainer.train.reranker import RerankerResult

__all__ = ["train", "train_config", "train_options"]


def _dims(value: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in value.split(",") if part.strip())
    except ValueError as exc:
        raise ConfigError(f"--matryoshka must be comma-separated integers, got '{value}'") from exc


_T = defaults_of(TrainConfig)

# Every option of `train` but --seed and --force. `pipeline` takes the same bundle and builds
# its config with `train_config`.
train_options = bundle(
    [
        click.option(
            "--base-model",
            default=_T.base_model,
            show_default=True,
            help="Model to start from: bundled:all-MiniLM-L6-v2 (offline default), a local "
            "folder, or a Hugging Face id already in the local cache (BAAI/bge-small-en-v1.5).",
        ),
        click.option(
            "--name",
            default=_T.name,
            show_default=True,
            help="Folder name under WORKSPACE/models/ (and WORKSPACE/exports/).",
        ),
        click.option(
            "--epochs",
            type=click.IntRange(min=1),
            default=_T.epochs,
            show_default=True,
            help="Passes over the pairs. Two at --lr 1e-4 measured best on real questions "
            "(docs/findings.md); each pass costs the same again.",
        ),
        click.option(
            "--batch-size",
            type=click.IntRange(min=2),
            default=_T.batch_size,
            show_default=True,
            help="Pairs per batch; the other pairs of a batch are each query's negatives.",
        ),
        click.option(
            "--lr",
            "learning_rate",
            type=float,
            default=_T.learning_rate,
            show_default=True,
            help="Peak learning rate (after the --warmup-ratio warm-up).",
        ),
        click.option(
            "--warmup-ratio",
            type=click.FloatRange(0, 1),
            default=_T.warmup_ratio,
            show_default=True,
            help="Share of the training steps over which the learning rate rises to --lr.",
        ),
        click.option(
            "--loss",
            type=click.Choice(["mnrl", "cached-mnrl"]),
            default=_T.loss,
            show_default=True,
            help="cached-mnrl: the same loss with gradient caching, for big batches on small "
            "memory.",
        ),
        click.option(
            "--mini-batch-size",
            type=click.IntRange(min=1),
            default=_T.mini_batch_size,
            show_default=True,
            help="Step size of cached-mnrl.",
        ),
        click.option(
            "--hard-negatives",
            type=click.IntRange(0, 1),
            default=_T.hard_negatives,
            show_default=True,
            help="Mine one hard negative per pair from the corpus with the base model.",
        ),
        click.option(
            "--matryoshka",
            default=",".join(map(str, _T.matryoshka_dims)),
            help="Also train truncated dimensions, e.g. 384,256,128,64.",
        ),
        click.option(
            "--max-seq-length",
            type=click.IntRange(min=8),
            default=_T.max_seq_length,
            help="Token limit. Default: the model's own window (256 for all-MiniLM-L6-v2); "
            "cut passages to fit it with `--chunk-words` rather than stretching it.",
        ),
        click.option(
            "--precision",
            type=click.Choice(["auto", "fp32", "bf16"]),
            default=_T.precision,
            show_default=True,
            help="auto: bfloat16 mixed precision where the CPU or GPU computes it natively "
            "(AVX-512 BF16, AMX, recent GPUs), else fp32.",
        ),
        click.option(
            "--freeze-embeddings/--train-embeddings",
            default=_T.freeze_embeddings,
            show_default=True,
            help="Keep the token embedding table (half of MiniLM's weights) as it is: the "
            "layers above learn the corpus's words, and each step costs less.",
        ),
        click.option(
            "--recompute-activations/--keep-activations",
            default=_T.recompute_activations,
            show_default=True,
            help="Recompute each layer's activations in the backward pass instead of keeping "
            "them (gradient checkpointing): a step needs about half the memory (MiniLM, 16 "
            "passages of 256 tokens: 2.5 -> 1.3 GB) for 5-30% more time a step, and trains the "
            "same weights. --keep-activations on a machine with memory to spare.",
        ),
        click.option(
            "--attention-dropout",
            type=click.FloatRange(0, 1, max_open=True),
            default=_T.attention_dropout,
            help="Attention dropout while training. 0 (the default) lets PyTorch's fused CPU "
            "attention run: a step about 2.9x faster in half the memory, as good as MiniLM's "
            "own 0.1 on real questions (docs/findings.md); 0.1 is MiniLM's own.",
        ),
        click.option(
            "--finetuned-weight",
            type=click.FloatRange(0, 1, min_open=True),
            default=_T.finetuned_weight,
            show_default=True,
            help="Share of the fine-tuned weights in the saved model, the rest from the base "
            "model (a weight-space ensemble, WiSE-FT). 1 saves the fine-tuned model as is.",
        ),
        click.option(
            "--queries",
            type=click.Path(path_type=Path, dir_okay=False),
            default=_T.queries,
            help="A query log written by `serve --log-queries`: your users' real queries. Each "
            "is labelled with the passage the model and BM25 both rank first (queries where "
            "they disagree are dropped and counted) and trained on beside the synthetic pairs.",
        ),
        click.option(
            "--feedback",
            type=click.Path(path_type=Path, dir_okay=False),
            default=_T.feedback,
            help="A feedback database written by `serve --feedback-db`: passages marked as "
            "answering a query are positives, those marked as not answering hard negatives.",
        ),
        click.option(
            "--mark-weight",
            type=click.IntRange(1, 100),
            default=_T.mark_weight,
            show_default=True,
            help="Times each --feedback mark is trained on: marks are few beside the synthetic "
            "pairs, and worth more.",
        ),
        click.option(
            "--max-minutes",
            type=click.FloatRange(min=0),
            default=_T.max_minutes,
            show_default=True,
            help="Time budget of training on this machine, loading and evaluation included. "
            "It times a training step first; when all the pairs would take longer, it trains "
            "on fewer, thinned evenly over the chunks, and says so. 0: no limit.",
        ),
        device_option,
    ]
)


def train_config(options: Mapping[str, Any], force: bool = False) -> TrainConfig:
    """The TrainConfig from the values of `train_options` and --seed."""
    values = dict(options)
    dims = _dims(values.pop("matryoshka"))
    return TrainConfig(matryoshka_dims=dims, force=force, **values)


@click.command()
@train_options
@click.option(
    "--reranker",
    is_flag=True,
    help="Train a reranker (a cross-encoder) instead: each training query read with its "
    "passage and with passages the workspace's embedding model ranks high that do not answer "
    "it; --base-model a cross-encoder of yours, or an embedding model whose weights get a new "
    "one-score head (the bundled MiniLM by default). Judged on reranking the embedder's top 20 "
    "for the eval queries. Writes WORKSPACE/models/edgembed-model-reranker (or --name).",
)
@seed_option
@force_option("the model folder")
@pass_state
def train(state: CliState, /, force: bool, reranker: bool, **options: Any) -> None:
    """Fine-tune an embedding model on WORKSPACE/pairs.train.jsonl.

    Uses MultipleNegativesRankingLoss (each query's passage against the batch's other
    passages), evaluates NDCG@10 over the whole chunk corpus on pairs.eval.jsonl after every
    epoch, and keeps the best epoch; the saved weights are then averaged with the base model's
    (--finetuned-weight). Writes WORKSPACE/models/NAME/ (a sentence-transformers folder,
    edgembed_training.json and a model card). Runs on CUDA when present, else CPU. With
    --reranker, trains a cross-encoder instead (see --reranker).
    """
    config = train_config(options, force)
    if reranker:
        _train_reranker(config, state)
        return
    from edgembed.trainer.train.finetune import train_model

    result = train_model(config, state.workspace)
    if state.verbosity < 0:
        return
    click.echo(
        format_table(
            ["model", "base NDCG@10", "best NDCG@10", "best epoch", "saved NDCG@10", "seconds"],
            [
                [
                    str(result.model_dir),
                    result.base_ndcg_at_10,
                    result.best_ndcg_at_10,
                    result.best_epoch,
                    result.saved_ndcg_at_10,
                    round(result.seconds, 1),
                ]
            ],
        )
    )
    click.echo(
        "NDCG@10 on the held-out synthetic eval pairs (saved: the best epoch averaged with the "
        "base model, --finetuned-weight); run `edgembed evaluate` for the full comparison."
    )
    _print_usage(result.record.usage)


def _print_usage(usage: Mapping[str, Any]) -> None:
    if usage:
        dropped = ", ".join(f"{why}: {n}" for why, n in usage["dropped"].items() if n) or "none"
        click.echo(
            f"real queries: kept {usage['logged_kept']} of {usage['logged_queries']} logged; "
            f"feedback: {usage['feedback_positives']} positives, "
            f"{usage['feedback_negatives']} hard negatives; dropped: {dropped}"
        )


def _train_reranker(config: TrainConfig, state: CliState) -> None:
    from edgembed.trainer.train.reranker import train_reranker

    result = train_reranker(config, state.workspace)
    if state.verbosity < 0:
        return
    click.echo(
        format_table(
            ["reranker", "first stage NDCG@10", "reranked NDCG@10", "best epoch", "seconds"],
            [
                [
                    str(result.model_dir),
                    result.first_stage_ndcg_at_10,
                    result.best_ndcg_at_10,
                    result.best_epoch,
                    round(result.seconds, 1),
                ]
            ],
        )
    )
    click.echo(
        "NDCG@10 of the held-out eval queries' top 20 by the embedding model, in its order and "
        "reranked. Those queries are sentences taken out of their passages, which can flatter "
        "or sink a reranker: judge it on your real questions (`edgembed evaluate --questions "
        "FILE --reranker MODEL_DIR`). Export it with `edgembed export MODEL_DIR`, serve it "
        "with `edgembed serve EXPORT --reranker RERANKER_EXPORT`."
    )
    if not result.helps:
        click.echo(
            f"WORSE: the reranker orders the embedding model's top 20 worse than the embedding "
            f"model does ({result.first_stage_ndcg_at_10:.3f} -> {result.best_ndcg_at_10:.3f}); "
            "do not serve it. A cross-encoder started from an embedding model's weights needs "
            "far more pairs than a workspace's (docs/findings.md, Reranking): start from a "
            "trained cross-encoder of yours (--base-model CROSS_ENCODER_FOLDER).",
            err=True,
        )
    _say_if_stuck(result, config)


def _say_if_stuck(result: RerankerResult, config: TrainConfig) -> None:
    """Tell a user whose reranker ran out of time before it began to learn what to give it."""
    stuck = result.stuck
    if stuck is None:
        return
    minutes = result.seconds / max(stuck.epochs, 1e-3) * config.epochs / 60
    advice = (
        f"Give it time: --max-minutes 0 trains all {config.epochs} epochs (about "
        f"{minutes:.0f} minutes on this machine), or train it where there is a GPU."
        if config.max_minutes
        else "Give it more epochs (--epochs), or start from a trained cross-encoder."
    )
    click.echo(
        f"It had barely begun to learn: its training loss stayed at {stuck.loss:.2f}, near "
        f"the {stuck.constant:.2f} of scoring every passage alike, after {stuck.epochs:.2f} "
        f"epoch(s); such near-equal scores shuffle the top 20. {advice}",
        err=True,
    )
