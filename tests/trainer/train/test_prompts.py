"""A model with prompts is trained the way it is served: queries with its query prompt,
passages with its document prompt, in the loss, the per-epoch evaluation and the record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from edgembed.config import TrainConfig
from edgembed.evaluation.task import eval_pairs_task
from edgembed.models import NO_PROMPTS, Prompts, describe_model
from edgembed.trainer.train.data import load_training_data
from edgembed.trainer.train.evaluator import corpus_evaluator
from edgembed.trainer.train.finetune import train_model
from edgembed.trainer.train.loop import _arguments
from edgembed.workspace import Workspace
from tests.zoo import E5_PROMPTS

E5 = Prompts(E5_PROMPTS["query"], E5_PROMPTS["document"])


def test_each_training_column_gets_its_sides_prompt(tmp_path: Path) -> None:
    args: Any = _arguments(TrainConfig(device="cpu"), tmp_path, "eval_x", "cpu", E5)
    assert args.prompts == {"anchor": "query: ", "positive": "passage: ", "negative": "passage: "}
    plain: Any = _arguments(TrainConfig(device="cpu"), tmp_path, "eval_x", "cpu", NO_PROMPTS)
    assert plain.prompts is None  # a model without prompts trains as it always did


def test_the_epoch_evaluation_uses_the_prompts(workspace: Workspace) -> None:
    data = load_training_data(workspace)
    evaluator: Any = corpus_evaluator(eval_pairs_task(data.chunks, data.eval), E5)
    assert (evaluator.query_prompt, evaluator.corpus_prompt) == ("query: ", "passage: ")


@pytest.mark.slow
def test_a_prompted_model_trains_and_keeps_its_prompts(
    workspace: Workspace, zoo_models: dict[str, Path]
) -> None:
    config = TrainConfig(
        base_model=str(zoo_models["bert-cls-prompts"]), epochs=1, batch_size=4, device="cpu",
        max_minutes=0,
    )  # fmt: skip
    result = train_model(config, workspace)
    tuned = describe_model(result.model_dir)
    assert {k: v for k, v in tuned.prompts.items() if v} == dict(E5_PROMPTS)
    assert (tuned.query_prompt, tuned.document_prompt, tuned.pooling) == (
        "query",
        "document",
        "cls",
    )
