from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from edgembed.cli.main import cli
from edgembed.errors import InputError
from edgembed.formats.pairs import write_pairs
from edgembed.models.encode import NO_PROMPTS
from edgembed.trainer.train.data import load_training_data, mine_hard_negatives
from edgembed.workspace import Workspace


def _document(topic: str) -> str:
    rules = " ".join(
        f"Rule {i} of the {topic} policy says step {i} needs a form signed by {i + 2} people."
        for i in range(8)
    )
    return f"# {topic.title()}\n\n{rules}\n"


def test_loads_chunks_and_both_pairs_files(workspace: Workspace) -> None:
    data = load_training_data(workspace)
    assert len(data.chunks) == 8 and len(data.train) == 12 and len(data.eval) == 2


def test_an_empty_eval_set_is_a_clear_error(workspace: Workspace) -> None:
    write_pairs(workspace.pairs_eval, [])
    with pytest.raises(InputError, match="--eval-fraction above 0"):
        load_training_data(workspace)


@pytest.mark.parametrize("extra", [["--eval-fraction", "0"], []], ids=["fraction-0", "one-chunk"])
def test_train_after_generate_without_eval_pairs_says_what_to_do(
    tmp_path: Path, extra: list[str]
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "pto.md").write_text(_document("paid time off"))
    if extra:  # a second document, so that only the fraction leaves eval empty
        (docs / "travel.md").write_text(_document("travel"))
    ws = ["--workspace", str(tmp_path / "ws")]
    generated = CliRunner().invoke(cli, [*ws, "generate", str(docs), *extra])
    assert generated.exit_code == 0, generated.output
    assert (tmp_path / "ws" / "pairs.eval.jsonl").read_text() == ""
    trained = CliRunner().invoke(cli, [*ws, "train", "--device", "cpu"])
    assert trained.exit_code == 1
    assert "has no pairs" in trained.output and "--eval-fraction" in trained.output
    assert "Traceback" not in trained.output
    assert not (tmp_path / "ws" / "models").exists()


def test_several_hard_negatives_a_pair_start_with_the_one_mined_alone(
    workspace: Workspace, tiny_mean_model: Path
) -> None:
    from edgembed.models import load_sentence_transformer

    data = load_training_data(workspace)
    model = load_sentence_transformer(str(tiny_mean_model), "cpu")
    one = mine_hard_negatives(model, data.train, data.chunks)
    three = mine_hard_negatives(model, data.train, data.chunks, count=3)
    for pair, alone, negatives in zip(data.train, one, three, strict=True):
        assert len(alone) == 1 and len(negatives) == 3 and len(set(negatives)) == 3
        assert negatives[0] == alone[0] and pair.positive not in negatives


def test_a_training_row_carries_each_negative_a_column_a_persons_first(
    workspace: Workspace, tiny_mean_model: Path
) -> None:
    from edgembed.config import TrainConfig
    from edgembed.models import load_sentence_transformer
    from edgembed.trainer.train.loop import _dataset

    data = load_training_data(workspace)
    model = load_sentence_transformer(str(tiny_mean_model), "cpu")
    marked = {data.train[0].query: ["a passage a person marked as not answering"]}
    table = _dataset(model, data, TrainConfig(hard_negatives=2), marked, NO_PROMPTS)
    assert table.column_names == ["anchor", "positive", "negative", "negative_2"]
    assert table["negative"][0] == "a passage a person marked as not answering"
    assert table["negative_2"][0] != table["negative"][0]
    assert _dataset(model, data, TrainConfig(), {}, NO_PROMPTS).column_names == [
        "anchor",
        "positive",
    ]
