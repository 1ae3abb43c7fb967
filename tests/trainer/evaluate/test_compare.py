from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from edgembed.cli.main import cli
from edgembed.config import EvaluateConfig, TrainConfig
from edgembed.errors import InputError, ModelError
from edgembed.trainer.evaluate.compare import _verdict, evaluate_models
from edgembed.trainer.evaluate.report import hybrid_line, verdict_line, write_evaluation_report
from edgembed.trainer.train.finetune import train_model
from edgembed.workspace import Workspace


@pytest.fixture()
def trained(workspace: Workspace, tiny_mean_model: Path) -> Workspace:
    config = TrainConfig(
        base_model=str(tiny_mean_model), name="m", epochs=1, batch_size=4, device="cpu"
    )
    train_model(config, workspace)
    return workspace


def test_evaluate_compares_five_systems_on_both_query_sets(
    trained: Workspace, questions_file: Path
) -> None:
    report = evaluate_models(EvaluateConfig(questions=questions_file, device="cpu"), trained)
    assert [qs.name for qs in report.query_sets] == ["eval pairs", "real questions"]
    real = report.query_sets[1]
    assert set(real.metrics) == {"base", "base as shipped", "fine-tuned", "bm25", "hybrid"}
    assert real.metrics["base"].queries == 8
    assert report.decided_on == "real questions"
    # The verdict is against the better of the two base systems.
    better = max(real.metrics["base"].ndcg_at_10, real.metrics["base as shipped"].ndcg_at_10)
    assert real.metrics[report.baseline].ndcg_at_10 == better
    expected = real.metrics["fine-tuned"].ndcg_at_10 - better
    assert report.delta_ndcg_at_10 == pytest.approx(expected)
    assert len(real.per_query_ndcg["fine-tuned"]) == 8
    assert 0.0 <= real.improved_share <= 1.0
    low, high = real.ndcg_delta_ci
    assert low <= report.delta_ndcg_at_10 <= high
    assert "95% interval" in verdict_line(report) and "over 8 queries" in verdict_line(report)
    paths = write_evaluation_report(report, trained.reports)
    data = json.loads(paths[0].read_text())
    assert data["query_sets"]["real questions"]["metrics"]["bm25"]["queries"] == 8
    assert "| real questions | hybrid |" in paths[1].read_text()
    # BM25's share is chosen on the real questions only, every weight measured.
    assert report.query_sets[0].hybrid_choice is None and real.hybrid_choice is not None
    choice = data["query_sets"]["real questions"]["hybrid_choice"]
    assert choice["questions"] == 8 and len(choice["ndcg_at_10"]) == 10
    assert choice["ndcg_at_10"]["0.3"] == pytest.approx(real.metrics["hybrid"].ndcg_at_10, abs=1e-4)
    line = hybrid_line(report)
    assert line is not None and line.startswith("hybrid: ") and line in paths[1].read_text()
    assert paths[2].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_evaluate_flags_a_worse_model(trained: Workspace, tiny_cls_model: Path) -> None:
    """A random model with other weights, posing as the fine-tuned one, must not look better
    than the base when the base is the same model: the comparison is a tie by construction."""
    same = evaluate_models(
        EvaluateConfig(model=str(tiny_cls_model), base_model=str(tiny_cls_model), device="cpu"),
        trained,
    )
    assert same.verdict == "tie" and same.delta_ndcg_at_10 == 0.0
    assert same.query_sets[-1].ndcg_delta_ci == (0.0, 0.0)


def test_evaluate_needs_something_to_evaluate(trained: Workspace) -> None:
    trained.pairs_eval.unlink()
    with pytest.raises(InputError, match="nothing to evaluate"):
        evaluate_models(EvaluateConfig(device="cpu"), trained)


def test_evaluate_without_model(workspace: Workspace) -> None:
    with pytest.raises(ModelError, match="edgembed train"):
        evaluate_models(EvaluateConfig(), workspace)


def test_evaluate_cli(trained: Workspace, questions_file: Path) -> None:
    args = ["--workspace", str(trained.root), "evaluate", "--questions", str(questions_file)]
    result = CliRunner().invoke(cli, [*args, "--device", "cpu", "--allow-worse"])
    assert result.exit_code == 0, result.output
    assert "real questions" in result.output and "hybrid: " in result.output
    assert (trained.reports / "evaluate.md").exists()


def test_evaluate_cli_judges_a_reranker_on_the_real_questions(
    trained: Workspace, questions_file: Path, zoo_models: dict[str, Path]
) -> None:
    """--reranker adds the 'reranked' system and a line that says, from the interval of the
    per-question change, whether to serve it; the report's Markdown carries the same line."""
    args = ["--workspace", str(trained.root), "evaluate", "--questions", str(questions_file)]
    reranker = ["--reranker", str(zoo_models["cross-encoder"])]
    result = CliRunner().invoke(cli, [*args, *reranker, "--device", "cpu", "--allow-worse"])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("reranker: "))
    assert "95% interval of the change" in line and "real questions" in line
    assert line in (trained.reports / "evaluate.md").read_text()
    report = json.loads((trained.reports / "evaluate.json").read_text())
    assert "reranked" in report["query_sets"]["real questions"]["metrics"]


def test_evaluate_cli_bad_input(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--workspace", str(tmp_path), "evaluate"])
    assert result.exit_code == 1 and "not found" in result.output
    result = CliRunner().invoke(cli, ["evaluate", "--questions", str(tmp_path / "none.jsonl")])
    assert result.exit_code != 0


@pytest.mark.slow
def test_evaluate_cli_fails_when_the_model_is_worse(
    trained: Workspace, questions_file: Path, tiny_cls_model: Path, bundled_minilm: Path
) -> None:
    """A random tiny model posing as the fine-tuned one against the real MiniLM as its base."""
    args = ["--workspace", str(trained.root), "evaluate", "--questions", str(questions_file)]
    args += ["--model", str(tiny_cls_model), "--base", str(bundled_minilm), "--device", "cpu"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert "WORSE" in result.output and "worse than the base model" in result.output
    assert json.loads((trained.reports / "evaluate.json").read_text())["verdict"] == "worse"


@pytest.mark.parametrize(
    ("delta", "interval", "verdict"),
    [
        (0.030, (0.010, 0.050), "better"),
        (0.030, (-0.005, 0.060), "tie"),  # a gain the questions cannot tell from noise
        (-0.017, (-0.054, 0.021), "tie"),
        (-0.030, (-0.050, -0.010), "worse"),
        (0.003, (0.001, 0.005), "tie"),  # sure, but below the tolerance
    ],
)
def test_verdict_needs_the_interval_on_one_side_of_zero(
    delta: float, interval: tuple[float, float], verdict: str
) -> None:
    assert _verdict(delta, interval, tolerance=0.005) == verdict


def test_a_big_corpus_is_sampled_to_max_passages_and_says_so(
    trained: Workspace, questions_file: Path, tmp_path: Path
) -> None:
    from edgembed.corpus import read_chunks

    chunks = read_chunks(trained.chunks)
    two = tmp_path / "two.jsonl"
    lines = questions_file.read_text().splitlines(keepends=True)
    two.write_text(lines[3] + lines[6])  # answered by chunks in the corpus's second half
    config = EvaluateConfig(questions=two, device="cpu", max_passages=5)
    report = evaluate_models(config, trained)
    real = report.query_sets[1]
    asked = [json.loads(line) for line in two.read_text().splitlines()]
    doc_of = {row["question"]: row["doc"] for row in asked}
    assert len(chunks) == 8 and real.passages == 5
    assert real.metrics["base"].queries == 2  # every question kept, with its answers
    starred = [
        (sample["query"], hit)
        for sample in real.samples
        for hit in sample["after"]
        if hit[0] == "*"
    ]
    assert starred  # a hit that answers names the question's own document, not another's
    assert all(hit[2:].split(" > ")[0] == doc_of[query] for query, hit in starred)
    paths = write_evaluation_report(report, trained.reports)
    assert f"retrieval over {real.passages:,} of them" in paths[1].read_text()
    whole = evaluate_models(EvaluateConfig(questions=two, device="cpu"), trained)
    assert whole.query_sets[1].passages == len(chunks)
