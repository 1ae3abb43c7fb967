"""The evaluation report: the chart (every bar visible, nothing drawn over another) and the
hybrid line."""

from __future__ import annotations

import pytest

from edgembed.evaluation.retrieval import RetrievalMetrics
from edgembed.trainer.evaluate.compare import SYSTEMS, EvaluationReport, QuerySetResult
from edgembed.trainer.evaluate.report import chart_figure

pytest.importorskip("matplotlib")


def _metrics(queries: int, acc1: float, acc3: float, ndcg: float) -> RetrievalMetrics:
    return RetrievalMetrics(queries, acc1, acc3, min(1.0, acc3 + 0.1), ndcg - 0.05, ndcg, 1.0)


def _report(query_sets: int = 2) -> EvaluationReport:
    """The README's sample run: eval pairs' Acc@3 about 0.5-0.6, real questions' about 0.8."""
    figures = {
        "eval pairs": [(0.33, 0.52, 0.43), (0.31, 0.5, 0.42), (0.36, 0.58, 0.46),
                       (0.28, 0.46, 0.39), (0.37, 0.6, 0.47)],
        "real questions": [(0.59, 0.79, 0.75), (0.57, 0.79, 0.75), (0.56, 0.75, 0.74),
                           (0.39, 0.69, 0.6), (0.56, 0.75, 0.74)],
    }  # fmt: skip
    sets = [
        QuerySetResult(name, {s: _metrics(130, *f) for s, f in zip(SYSTEMS, rows, strict=True)},
                       0.5, 0.6, 0.5)
        for name, rows in list(figures.items())[:query_sets]
    ]  # fmt: skip
    return EvaluationReport("tuned", "base", 147, sets, "real questions", "tie", -0.01)


@pytest.mark.parametrize("query_sets", [1, 2])
def test_the_legend_covers_no_bar_and_nothing_is_cut(query_sets: int) -> None:
    import matplotlib.pyplot as plt

    figure = chart_figure(_report(query_sets))
    try:
        figure.canvas.draw()
        renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
        legends = [*figure.legends, *(ax.get_legend() for ax in figure.axes)]
        boxes = [legend.get_window_extent(renderer) for legend in legends if legend]
        bars = [bar.get_window_extent(renderer) for ax in figure.axes for bar in ax.patches]
        assert boxes and bars
        covered = [bar for bar in bars for box in boxes if bar.overlaps(box)]
        title = figure.get_suptitle() and figure._suptitle.get_window_extent(renderer)  # type: ignore[attr-defined]
        outside = [box for box in [*boxes, title] if not figure.bbox.contains(box.x0, box.y0)
                   or not figure.bbox.contains(box.x1, box.y1)]  # fmt: skip
    finally:
        plt.close(figure)
    assert covered == [] and outside == []


@pytest.mark.parametrize("changed", [True, False])
def test_the_hybrid_line_recommends_a_weight_only_on_evidence(changed: bool) -> None:
    from dataclasses import replace

    from edgembed.evaluation.hybrid import WeightChoice
    from edgembed.trainer.evaluate.report import hybrid_line

    report = _report()
    assert hybrid_line(report) is None  # no real questions' choice: nothing to say
    ndcg = {0.3: 0.774, 0.8: 0.805}
    choice = WeightChoice(0.8 if changed else 0.3, 0.3, ndcg, 0.031, (0.013, 0.049), 488)
    sets = [report.query_sets[0], replace(report.query_sets[1], hybrid_choice=choice)]
    line = hybrid_line(replace(report, query_sets=sets))
    assert line is not None and "488 questions" in line and "+0.013 to +0.049" in line
    if changed:
        assert "0.805 against 0.774" in line and "--hybrid-weight 0.8`" in line
    else:
        assert "no share of BM25 beats the default 0.3" in line and "--hybrid-weight" not in line


@pytest.mark.parametrize(
    ("shift", "advice"),
    [(0.1, "it helps: serve it"), (-0.1, "ranks worse: do not serve"), (0.0, "beyond noise")],
)
def test_the_reranker_line_says_what_the_per_question_change_supports(
    shift: float, advice: str
) -> None:
    """The reranker's verdict is the 95% interval of its per-question change on the set the
    verdict is decided on, not its mean alone: a +0.01 mean over noisy questions is no gain."""
    from dataclasses import replace

    from edgembed.trainer.evaluate.compare import RERANKED
    from edgembed.trainer.evaluate.report import reranker_line, stage_lines

    report = _report()
    assert reranker_line(report) is None and stage_lines(report) == []
    own = [0.5] * 100
    noise = [0.4 if i % 2 else -0.4 for i in range(100)]
    reranked = [v + shift + (d if shift == 0.0 else 0.0) + (0.01 if shift == 0.0 else 0.0)
                for v, d in zip(own, noise, strict=True)]  # fmt: skip
    real = report.query_sets[1]
    metrics = {**real.metrics, RERANKED: _metrics(100, 0.5, 0.7, sum(reranked) / 100)}
    per_query = {"fine-tuned": own, RERANKED: reranked}
    sets = [report.query_sets[0], replace(real, metrics=metrics, per_query_ndcg=per_query)]
    line = reranker_line(replace(report, query_sets=sets))
    assert line is not None and advice in line and "over 100 real questions" in line
    assert "judge it with --questions" not in line  # decided on real questions
    assert stage_lines(replace(report, query_sets=sets)) == [line]
