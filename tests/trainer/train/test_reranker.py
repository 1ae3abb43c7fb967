"""`train --reranker`: a cross-encoder trained on the workspace's pairs, judged against the
embedding model's own order, and said to be worse when it is."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from edgembed.cli.main import cli
from edgembed.config import TrainConfig
from edgembed.formats.training_record import TRAINING_RECORD
from edgembed.trainer.train.reranker import reranker_helps, train_reranker
from edgembed.workspace import Workspace

pytestmark = pytest.mark.slow


def test_a_reranker_is_trained_and_judged_against_its_first_stage(
    workspace: Workspace, zoo_models: dict[str, Path]
) -> None:
    config = TrainConfig(
        base_model=str(zoo_models["cross-encoder"]), epochs=1, batch_size=4, device="cpu"
    )
    result = train_reranker(config, workspace)
    assert result.model_dir == workspace.models / "edgembed-model-reranker"
    record = json.loads((result.model_dir / TRAINING_RECORD).read_text())
    assert record["lineage"]["kind"] == "reranker"
    assert result.helps == (result.best_ndcg_at_10 > result.first_stage_ndcg_at_10)
    assert reranker_helps(result.model_dir) is result.helps
    for best, helps in ((record["base_ndcg_at_10"] - 0.1, False), (1.01, True)):
        (result.model_dir / TRAINING_RECORD).write_text(
            json.dumps({**record, "best_ndcg_at_10": best})
        )
        assert reranker_helps(result.model_dir) is helps
    assert reranker_helps(workspace.root) is None  # no record: a team's own cross-encoder


def test_the_command_says_worse_when_the_reranker_does_not_help(
    workspace: Workspace, zoo_models: dict[str, Path]
) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "--workspace", str(workspace.root), "train", "--reranker", "--base-model",
            str(zoo_models["cross-encoder"]), "--epochs", "1", "--batch-size", "4",
            "--device", "cpu", "--max-minutes", "0",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    record = json.loads(
        (workspace.models / "edgembed-model-reranker" / TRAINING_RECORD).read_text()
    )
    helps = record["best_ndcg_at_10"] > record["base_ndcg_at_10"]
    assert ("WORSE" in result.output) is (not helps)
    assert "reranked NDCG@10" in result.output


def test_a_new_head_on_minilm_learns(workspace: Workspace) -> None:
    """From the bundled MiniLM's weights with a new head (the default start) the reranker
    learns: its loss falls well below a constant score's. With binary cross-entropy and one
    learning rate it stayed at the constant-output loss for whole epochs (docs/findings.md)."""
    import math

    from edgembed.trainer.train.reranker import IN_BATCH, NEGATIVES

    config = TrainConfig(epochs=6, batch_size=4, device="cpu", max_minutes=0)
    result = train_reranker(config, workspace)
    losses = [epoch["train_loss"] for epoch in result.record.epochs]
    assert len(losses) == 6 and None not in losses
    # a constant score gives every candidate (the answer, its negatives, the batch's other
    # answers) the same probability
    candidates = 1 + NEGATIVES + min(IN_BATCH, config.batch_size - 1)
    assert losses[-1] < 0.7 * math.log(candidates), losses
    assert losses[-1] < losses[0], losses
    assert result.stuck is None


def test_a_reranker_whose_loss_stayed_at_a_constant_scores_is_told_what_to_give_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """cvsfaq's reranker after 0.4 of an epoch: loss 1.94 against ln 7 = 1.95 (findings)."""
    import dataclasses
    import math

    from edgembed.cli.train import _say_if_stuck
    from edgembed.trainer.train.reranker import RerankerResult
    from tests.conftest import make_training_record

    def result(loss: float) -> RerankerResult:
        record = dataclasses.replace(
            make_training_record(),
            config={"batch_size": 16},
            epochs=({"epoch": 0.4, "train_loss": loss},),
        )
        return RerankerResult(Path("r"), 0.27, 0.03, 0.4, 600.0, record)

    assert result(1.94).stuck == pytest.approx((1.94, math.log(7), 0.4))
    assert result(1.41).stuck is None  # the sample's after one epoch: learning
    _say_if_stuck(result(1.94), TrainConfig(max_minutes=10))
    said = capsys.readouterr().err
    assert "barely begun to learn" in said and "--max-minutes 0" in said
    assert "about 50 minutes" in said  # 600 s for 0.4 of an epoch, 2 epochs
    _say_if_stuck(result(1.41), TrainConfig(max_minutes=10))
    assert capsys.readouterr().err == ""
    # two epochs trained, the first kept: the loss and the time are the last epoch's
    two = result(1.94)
    two = dataclasses.replace(
        two,
        best_epoch=1.0,
        record=dataclasses.replace(
            two.record,
            epochs=({"epoch": 1.0, "train_loss": 1.95}, {"epoch": 2.0, "train_loss": 1.94}),
        ),
    )
    _say_if_stuck(two, TrainConfig(max_minutes=0, epochs=2))
    said = capsys.readouterr().err
    assert "stayed at 1.94" in said and "after 2.00 epoch(s)" in said and "--epochs" in said


def test_rows_put_a_querys_marked_wrong_passages_first(workspace: Workspace) -> None:
    """Each row: a query, its answer and NEGATIVES others; a marked query's passages marked as
    not answering it come first, and a query marked only as not answered makes no row."""

    from edgembed.formats.feedback import Mark
    from edgembed.trainer.train.data import load_training_data
    from edgembed.trainer.train.reranker import NEGATIVES, _marked, _rows

    data = load_training_data(workspace)
    chunks = data.chunks
    order = [list(range(len(chunks)))] * len(data.train)
    marks = [
        Mark(query="q", relevant=True, chunk_id=chunks[2].id),
        Mark(query="q", relevant=False, chunk_id=chunks[5].id),
        Mark(query="only wrong", relevant=False, chunk_id=chunks[1].id),
    ]
    marked = _marked(marks, chunks, {chunk.id: i for i, chunk in enumerate(chunks)})
    rows = _rows(data, order, marked, {"q": list(range(len(chunks)))})
    negatives = [f"negative_{k + 1}" for k in range(NEGATIVES)]
    assert set(rows) == {"query", "positive", *negatives}
    assert len(rows["query"]) == len(data.train) + 1
    assert "only wrong" not in rows["query"]
    last = {column: values[-1] for column, values in rows.items()}
    assert last["query"] == "q" and last["positive"] == chunks[2].text
    assert last["negative_1"] == chunks[5].text  # the passage marked wrong
    assert last["negative_2"] == chunks[0].text  # then the embedder's best that is not it
    for i, positive in enumerate(rows["positive"]):
        assert positive not in [rows[column][i] for column in negatives]


def test_negatives_scored_nearly_as_high_as_the_answer_are_left_out() -> None:
    """Positive-aware mining: a passage the embedder scores above POSITIVE_SHARE of the answer's
    own score is no negative (it most likely answers too); the rest keep the embedder's order."""
    import numpy as np

    from edgembed.trainer.train.reranker import POSITIVE_SHARE, _below

    scores = np.array([[0.90, 0.20, 0.50, 0.56, 0.40], [0.10, 0.30, 0.20, 0.00, 0.25]])
    answers = [0.60, 0.25]  # ceilings 0.57 and 0.2375
    assert POSITIVE_SHARE * answers[0] == pytest.approx(0.57)
    assert _below(scores, answers) == [[3, 2, 4, 1], [2, 0, 3]]
    assert _below(scores, [0.0, -1.0]) == [[], []]  # no answer score: nothing is safe to take


def test_a_new_head_starts_by_scoring_every_passage_the_same() -> None:
    """Untrained, a reranker grown from an embedder keeps the first stage's order (its head
    starts at zero) instead of a random head's order."""
    from edgembed.trainer.train.reranker import _start_model

    model = _start_model(TrainConfig(), "cpu")
    pairs = [("vacation carry-over", "Unused days carry over."), ("vpn", "Install the client.")]
    scores = model.predict(pairs + [("x", "a longer passage about something else entirely")])
    assert len(set(scores.tolist())) == 1


def test_half_the_answers_keep_their_querys_sentence(workspace: Workspace) -> None:
    """An inverse-cloze answer lacks the query's sentence; if every answer did, and no
    negative did, a passage missing a sentence would be the answer and one with the query's
    words would not (the reranker learned that on fetchmailfaq). Half the answers are whole,
    half the negatives lose a sentence, the same way for the same seed."""
    import random
    from dataclasses import replace
    from statistics import mean

    from edgembed.corpus.sentences import body_sentences, strip_sentences
    from edgembed.trainer.train.data import load_training_data
    from edgembed.trainer.train.reranker import NEGATIVES, _rows

    data = load_training_data(workspace)
    more = " It applies to every employee. Ask the people team when in doubt."
    data = replace(data, chunks=tuple(replace(c, text=c.text + more) for c in data.chunks))
    by_id = {chunk.id: chunk for chunk in data.chunks}

    def inverse_cloze(pair: Any) -> Any:
        chunk = by_id[pair.positive_id]
        first = next(s for line in body_sentences(chunk.body.split("\n")) for s in line)
        return replace(pair, query=first, positive=strip_sentences(chunk, lambda s: s == first))

    data = replace(data, train=tuple(inverse_cloze(pair) for pair in data.train) * 10)
    order = [list(range(len(data.chunks)))] * len(data.train)
    rows = _rows(data, order, {}, {}, random.Random(0))
    whole = {chunk.text for chunk in data.chunks}
    assert len(rows["positive"]) == len(data.train) >= 100
    kept = [answer in whole for answer in rows["positive"]]
    assert 0.35 < mean(kept) < 0.65
    for answer, pair, is_whole in zip(rows["positive"], data.train, kept, strict=True):
        assert answer == (by_id[pair.positive_id].text if is_whole else pair.positive)
    negatives = [text for k in range(NEGATIVES) for text in rows[f"negative_{k + 1}"]]
    assert 0.2 < mean(text not in whole for text in negatives) < 0.65
    assert _rows(data, order, {}, {}, random.Random(0)) == rows
    assert all(answer in whole for answer in _rows(data, order, {}, {})["positive"])
