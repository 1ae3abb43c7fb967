"""The time budget of `edgembed train`: the plan, the thinning, and a run that fits it."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from edgembed.config import TrainConfig
from edgembed.errors import ConfigError
from edgembed.formats.pairs import Pair
from edgembed.formats.training_record import TRAINING_RECORD
from edgembed.trainer.train import budget, finetune
from edgembed.trainer.train.budget import (
    SAVE_SECONDS,
    STEP_OVERHEAD,
    deadline_callback,
    eval_passages,
    plan_pairs,
    thin_evenly,
)
from edgembed.trainer.train.finetune import train_model
from edgembed.workspace import Workspace


def _plan(**kwargs: float) -> tuple[int, int]:
    figures = {
        "pairs": 1275,
        "batch_size": 16,
        "epochs": 2,
        "budget_seconds": 600.0,
        "step_seconds": 2.0,
        "eval_seconds": 10.0,
        "spent_seconds": 20.0,
    }
    figures.update(kwargs)
    plan = plan_pairs(**figures)  # type: ignore[arg-type]
    return plan.kept, plan.steps


def test_pairs_that_fit_are_all_kept() -> None:
    # 160 steps of 1 s (1.1 with overhead) + 3 evaluations + 20 s spent: 231 s < 600 s
    assert _plan(step_seconds=1.0) == (1275, 160)


def test_a_slow_step_thins_the_pairs_to_fit() -> None:
    left = 600 - 20 - 3 * 10 - SAVE_SECONDS  # the budget less what is spent and 3 evaluations
    kept, steps = _plan(step_seconds=6.0)
    assert (kept, steps) == (656, 82)  # 82 steps of 6.6 s: 41 batches of 16 an epoch
    assert steps * 6.0 * STEP_OVERHEAD <= left < (steps + 2) * 6.0 * STEP_OVERHEAD


def test_an_impossible_budget_still_trains_two_batches() -> None:
    assert _plan(budget_seconds=1.0) == (32, 4)


def test_more_epochs_leave_fewer_pairs() -> None:
    assert _plan(step_seconds=6.0, epochs=4)[0] < _plan(step_seconds=6.0, epochs=2)[0]


def _pairs(per_chunk: dict[str, int]) -> list[Pair]:
    return [
        Pair(f"{chunk} q{i}", chunk, f"text of {chunk}", "doc.md", "ict", "test", "none")
        for chunk, count in per_chunk.items()
        for i in range(count)
    ]


def test_thinning_keeps_every_chunk_before_a_second_pair_of_any() -> None:
    pairs = _pairs({"a": 5, "b": 1, "c": 3})
    kept = thin_evenly(pairs, 4)
    assert [p.query for p in kept] == ["a q0", "a q1", "b q0", "c q0"]  # file order
    assert thin_evenly(pairs, 100) == tuple(pairs)
    assert len(thin_evenly(pairs, 7)) == 7


def test_a_negative_budget_is_refused() -> None:
    with pytest.raises(ConfigError, match="max_minutes"):
        TrainConfig(max_minutes=-1)


def test_train_fits_a_tiny_budget_and_says_so(
    workspace: Workspace, tiny_mean_model: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = TrainConfig(
        base_model=str(tiny_mean_model),
        name="m",
        epochs=1,
        batch_size=4,
        device="cpu",
        max_minutes=0.001,
    )
    with caplog.at_level(logging.WARNING):
        result = train_model(config, workspace)
    metrics = json.loads((result.model_dir / TRAINING_RECORD).read_text())
    assert metrics["time_budget"]["pairs"] == 12
    assert metrics["time_budget"]["kept"] == 8  # two batches: the floor
    assert metrics["data"]["train_pairs"] == 8
    assert metrics["time_budget"]["step_seconds"] > 0
    assert "--max-minutes 0 for no limit" in caplog.text


def test_no_limit_skips_the_timing(workspace: Workspace, tiny_mean_model: Path) -> None:
    config = TrainConfig(
        base_model=str(tiny_mean_model), name="m", epochs=1, batch_size=4, device="cpu",
        max_minutes=0,
    )  # fmt: skip
    result = train_model(config, workspace)
    metrics = json.loads((result.model_dir / TRAINING_RECORD).read_text())
    assert metrics["time_budget"] is None
    assert metrics["data"]["train_pairs"] == 12


def test_a_passed_deadline_ends_training_and_still_evaluates(
    workspace: Workspace, tiny_mean_model: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A budget already spent when the first step ends: training stops there, and that partial
    # epoch is evaluated and kept, as a slowdown after the timing would have it.
    config = TrainConfig(
        base_model=str(tiny_mean_model), name="m", epochs=2, batch_size=4, device="cpu",
        max_minutes=0.0001,
    )  # fmt: skip
    with caplog.at_level(logging.WARNING):
        result = train_model(config, workspace)
    metrics = json.loads((result.model_dir / TRAINING_RECORD).read_text())
    assert metrics["time_budget"]["stopped_at_step"] == 1
    assert metrics["time_budget"]["planned_steps"] == 4
    assert [round(e["epoch"], 2) for e in metrics["epochs"]] == [0.5]
    assert "training stopped at step 1 of 4" in caplog.text


def test_the_deadline_callback_leaves_a_run_in_time_alone() -> None:
    import time

    from transformers import TrainerControl, TrainerState

    callback = deadline_callback(time.perf_counter() + 3600, closing_seconds=1.0)
    control = callback.on_step_end(None, TrainerState(global_step=3), TrainerControl())
    assert not control.should_training_stop and callback.stopped_at is None
    late = deadline_callback(time.perf_counter() + 0.5, closing_seconds=1.0)
    control = late.on_step_end(None, TrainerState(global_step=3), TrainerControl())
    assert control.should_training_stop and late.stopped_at == 3


def test_a_budget_that_fits_trains_exactly_as_no_budget(
    workspace: Workspace, tiny_mean_model: Path
) -> None:
    # When nothing is thinned, the timing and the plan leave the run as it was (the trainer
    # seeds and zeroes gradients itself): the model is the same weight for weight as without a
    # budget, so quality figures measured with --max-minutes 0 hold wherever the budget fits.
    import torch

    from edgembed.models import load_sentence_transformer

    weights = {}
    for minutes in (0.0, 10.0):
        config = TrainConfig(
            base_model=str(tiny_mean_model), name=f"m{minutes:g}", epochs=2, batch_size=4,
            device="cpu", max_minutes=minutes, seed=7,
        )  # fmt: skip
        result = train_model(config, workspace)
        weights[minutes] = load_sentence_transformer(str(result.model_dir), "cpu").state_dict()
    assert weights[0.0].keys() == weights[10.0].keys()
    for name, value in weights[0.0].items():
        assert torch.equal(value, weights[10.0][name]), name


def test_the_evaluations_get_a_quarter_of_the_budget() -> None:
    # 33,094 chunks on 2 cores: 5,000 passages took 242 s an evaluation; four of them took a
    # 10-minute budget. Now each gets 150 s / 4 -> 774 passages, raised to the floor of 1,000.
    assert eval_passages(600, 242 / 5000, 4, most=5000) == 1000
    assert eval_passages(600, 0.01, 4, most=5000) == 3750
    assert eval_passages(600, 0.001, 4, most=5000) == 5000  # a fast machine: the cap
    assert eval_passages(3600, 242 / 5000, 4, most=5000) == 4648  # an hour's budget
    assert eval_passages(600, 0.0, 4, most=5000) == 5000


def test_a_big_corpus_is_scored_on_a_sample_that_fits_the_budget(
    workspace: Workspace,
    tiny_mean_model: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The test corpus is small: lower the floor so that it counts as big, and make a passage
    # cost a second (the tiny model's real cost varies with the machine's load).
    monkeypatch.setattr(budget, "EVAL_MIN_PASSAGES", 4)
    monkeypatch.setattr(finetune, "EVAL_MIN_PASSAGES", 4)
    timed: list[float] = []

    def a_second_a_passage(model: object, texts: list[str], prompt: str) -> float:
        timed.append(budget.time_encoding(model, texts, prompt))  # type: ignore[arg-type]
        return 1.0

    monkeypatch.setattr(finetune, "time_encoding", a_second_a_passage)
    config = TrainConfig(
        base_model=str(tiny_mean_model), name="m", epochs=1, batch_size=4, device="cpu",
        max_minutes=0.001,
    )  # fmt: skip
    with caplog.at_level(logging.INFO):
        train_model(config, workspace)
    chunks = len(workspace.chunks.read_text().splitlines())
    assert f"against 4 of the {chunks} passages (1000 ms a passage here)" in caplog.text
    assert len(timed) == 1 and timed[0] > 0  # the real timing ran once
