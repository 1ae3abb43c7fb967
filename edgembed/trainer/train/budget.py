"""The time budget of `edgembed train`: how many pairs this machine can train on in time.

A step's cost depends on the CPU, the threads it gets and the passage lengths, so a fixed pair
count that fits 10 minutes on one machine takes 25 on a slower one. Before training, one
optimisation step's forward and backward pass is timed on real pairs at the run's settings;
with the per-epoch evaluation's cost (measured on the base model) that gives how many steps fit
the rest of the budget, and the training pairs are thinned evenly over the chunks to fit.
Steps can still slow down after the timing (another job starts on the machine): a deadline
then ends the epoch under way early, which is evaluated and can still be the one kept.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from edgembed.config import TrainConfig
from edgembed.formats.pairs import Pair
from edgembed.trainer.train.model_setup import use_bf16

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = [
    "EVAL_MIN_PASSAGES",
    "EVAL_SHARE",
    "BudgetPlan",
    "deadline_callback",
    "eval_passages",
    "plan_budget",
    "plan_pairs",
    "thin_evenly",
    "time_encoding",
    "time_training_step",
]

log = logging.getLogger(__name__)

# The optimizer's update, the data loader and the collator cost about this much over the
# timed forward and backward pass (measured: 4-8% on 2 CPU cores).
STEP_OVERHEAD = 1.1
# Saving the model, the model card and what `train` does after the last evaluation.
SAVE_SECONDS = 5.0


@dataclass(frozen=True)
class BudgetPlan:
    """How many training pairs fit the budget, and the figures that decided it."""

    budget_seconds: float
    step_seconds: float
    eval_seconds: float
    spent_seconds: float
    pairs: int
    kept: int
    epochs: int
    batch_size: int

    @property
    def thinned(self) -> bool:
        return self.kept < self.pairs

    @property
    def steps(self) -> int:
        """The steps that the kept pairs take."""
        return self.epochs * math.ceil(self.kept / self.batch_size)

    @property
    def all_steps(self) -> int:
        """The steps that every pair would take."""
        return self.epochs * math.ceil(self.pairs / self.batch_size)

    @property
    def all_seconds(self) -> float:
        """How long training on every pair would take: its steps and the evaluations."""
        evaluations = (self.epochs + 1) * self.eval_seconds
        return self.all_steps * self.step_seconds * STEP_OVERHEAD + evaluations

    @property
    def closing_seconds(self) -> float:
        """What follows the last step: that epoch's evaluation, the merged model's, saving."""
        return 2 * self.eval_seconds + SAVE_SECONDS

    def to_json(self) -> dict[str, Any]:
        return {
            "budget_seconds": round(self.budget_seconds, 1),
            "step_seconds": round(self.step_seconds, 3),
            "eval_seconds": round(self.eval_seconds, 1),
            "spent_before_training_seconds": round(self.spent_seconds, 1),
            "pairs": self.pairs,
            "kept": self.kept,
            "planned_steps": self.steps,
        }


EVAL_SHARE = 0.25
"""The part of the budget the evaluations may take (the base's, each epoch's, the merge's)."""
EVAL_MIN_PASSAGES = 1000
"""Passages an evaluation keeps whatever the budget: below that the epochs stop differing."""


def eval_passages(
    budget_seconds: float, passage_seconds: float, evaluations: int, most: int
) -> int:
    """How many passages each evaluation can embed so that `evaluations` of them take at most
    `EVAL_SHARE` of the budget (between `EVAL_MIN_PASSAGES` and `most`).

    At 33,094 chunks, 5,000 passages took 242 s an evaluation on 2 cores: four of them left a
    10-minute budget one training step (32 of 1,275 pairs).
    """
    if passage_seconds <= 0 or evaluations < 1:
        return most
    fit = math.floor(EVAL_SHARE * budget_seconds / evaluations / passage_seconds)
    return max(min(EVAL_MIN_PASSAGES, most), min(fit, most))


def time_encoding(model: SentenceTransformer, texts: Sequence[str], prompt: str) -> float:
    """Seconds the model takes to embed one of `texts` here (timed on up to 64 of them)."""
    from edgembed.models import encode

    sample = list(texts[:: max(1, len(texts) // 64)])[:64]
    encode(model, sample[:8], prompt)  # warm up
    started = time.perf_counter()
    encode(model, sample, prompt)
    return (time.perf_counter() - started) / max(len(sample), 1)


def plan_pairs(
    *,
    pairs: int,
    batch_size: int,
    epochs: int,
    budget_seconds: float,
    step_seconds: float,
    eval_seconds: float,
    spent_seconds: float,
) -> BudgetPlan:
    """How many of `pairs` to train on so that the command ends within `budget_seconds`.

    Besides the steps, the run evaluates once per epoch and once more after merging with the
    base model, and has already spent `spent_seconds` (loading, the base model's evaluation,
    the timing itself). At least two batches are kept whatever the budget.
    """
    left = budget_seconds - spent_seconds - (epochs + 1) * eval_seconds - SAVE_SECONDS
    step = step_seconds * STEP_OVERHEAD
    affordable = max(0, math.floor(left / step)) if step > 0 else pairs
    fit = affordable // epochs * batch_size
    kept = min(pairs, max(fit, 2 * batch_size))
    return BudgetPlan(
        budget_seconds=budget_seconds,
        step_seconds=step_seconds,
        eval_seconds=eval_seconds,
        spent_seconds=spent_seconds,
        pairs=pairs,
        kept=kept,
        epochs=epochs,
        batch_size=batch_size,
    )


def thin_evenly(pairs: Sequence[Pair], count: int) -> tuple[Pair, ...]:
    """`count` of `pairs`: every chunk's first pair, then every chunk's second, ..., so each
    chunk keeps some (as `generate --max-pairs` thins); the kept pairs stay in file order."""
    if count >= len(pairs):
        return tuple(pairs)
    rank: dict[str, int] = {}
    ranked = []
    for index, pair in enumerate(pairs):
        nth = rank.get(pair.positive_id, 0)
        rank[pair.positive_id] = nth + 1
        ranked.append((nth, index))
    keep = sorted(index for _, index in sorted(ranked)[:count])
    return tuple(pairs[i] for i in keep)


def time_training_step(
    model: SentenceTransformer,
    loss: Any,
    pairs: Sequence[Pair],
    *,
    batch_size: int,
    bf16: bool,
    negatives: int,
) -> float:
    """Seconds of one training step's forward and backward pass on `batch_size` of `pairs`
    (spread over the file, so passage lengths are typical), at the run's precision; with
    `negatives`, that many more columns of passages, as the hard negatives add. The
    gradients are dropped and no weight changes; the model stays in eval mode (no dropout), so
    the random state the trainer seeds is not touched."""
    import torch

    stride = max(1, len(pairs) // batch_size)
    batch = list(pairs[::stride][:batch_size])
    device = model.device

    def features(texts: list[str]) -> dict[str, Any]:
        found = model.preprocess(list[Any](texts))  # as the trainer's collator makes them
        return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in found.items()}

    passages = [p.positive for p in batch]
    inputs = [features([p.query for p in batch]), features(passages)]
    for shift in range(1, negatives + 1):
        inputs.append(features(passages[shift:] + passages[:shift]))
    times = []
    model.eval()
    for _ in range(3):  # the first call pays one-off set-up; the two after it are timed
        started = time.perf_counter()
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16):
            value = loss(inputs, None)
        value.backward()
        model.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - started)
    return (times[1] + times[2]) / 2


def deadline_callback(deadline: float, closing_seconds: float) -> Any:
    """A trainer callback that ends training once a step finishes so late that the epoch's
    evaluation and what follows it (`closing_seconds`) would pass `deadline` (a
    time.perf_counter() value). The trainer then evaluates the partial epoch as usual."""
    from transformers import TrainerCallback

    class Deadline(TrainerCallback):
        stopped_at: int | None = None

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
            if time.perf_counter() + closing_seconds > deadline and self.stopped_at is None:
                self.stopped_at = int(state.global_step)
                control.should_training_stop = True
            return control

    return Deadline()


def plan_budget(
    config: TrainConfig,
    model: SentenceTransformer,
    loss: Any,
    train: Sequence[Pair],
    eval_seconds: float,
    begun: float,
    device: str,
    hard_negatives: int,
) -> BudgetPlan | None:
    """Time a step and plan how many pairs fit --max-minutes (None: no limit)."""
    if not config.max_minutes:
        return None
    step = time_training_step(
        model,
        loss,
        train,
        batch_size=config.batch_size,
        bf16=use_bf16(config.precision, device),
        negatives=hard_negatives,
    )
    plan = plan_pairs(
        pairs=len(train),
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
