"""Writing the evaluation report: JSON (all figures), Markdown (readable) and a PNG chart."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from edgembed.atomic import write_bytes, write_json, write_text
from edgembed.evaluation.bootstrap import paired_bootstrap
from edgembed.evaluation.task import REAL_QUESTIONS
from edgembed.trainer.evaluate.compare import FIRST_STAGE, RERANKED, SYSTEMS, EvaluationReport

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "chart_figure",
    "comparison_rows",
    "hybrid_line",
    "reranker_line",
    "stage_lines",
    "verdict_line",
    "write_evaluation_report",
]

COLUMNS = ("NDCG@10", "MRR@10", "Acc@1", "Acc@3", "Acc@5", "Recall@10")


def comparison_rows(report: EvaluationReport) -> list[list[object]]:
    """One row per (query set, system): the retrieval figures, for tables."""
    rows: list[list[object]] = []
    for qs in report.query_sets:
        for system, m in qs.metrics.items():
            rows.append(
                [
                    qs.name,
                    system,
                    m.ndcg_at_10,
                    m.mrr_at_10,
                    m.accuracy_at_1,
                    m.accuracy_at_3,
                    m.accuracy_at_5,
                    m.recall_at_10,
                ]
            )
    return rows


def verdict_line(report: EvaluationReport) -> str:
    """The plain-words verdict, with how sure the change is over this many questions."""
    decider = next(qs for qs in report.query_sets if qs.name == report.decided_on)
    low, high = decider.ndcg_delta_ci
    delta = (
        f"{report.delta_ndcg_at_10:+.3f} NDCG@10 on {report.decided_on}, 95% interval "
        f"{low:+.3f} to {high:+.3f} over {decider.metrics['base'].queries} queries"
    )
    base = "the base model" if report.baseline == "base" else f"the {report.baseline}"
    if report.verdict == "worse":
        return f"WORSE: the fine-tuned model loses to {base} ({delta}). Keep the base."
    if report.verdict == "tie":
        return f"TIE: no real difference from {base} ({delta})."
    return f"BETTER: the fine-tuned model beats {base} ({delta})."


def hybrid_line(report: EvaluationReport) -> str | None:
    """BM25's share in the hybrid that the real questions recommend, or None without them."""
    choice = next((qs.hybrid_choice for qs in report.query_sets if qs.hybrid_choice), None)
    if choice is None or not choice.ndcg:
        return None
    low, high = choice.gain_ci95
    held_out = (
        f"a weight chosen on one half of them moved the other half by {choice.gain:+.3f} "
        f"NDCG@10, 95% interval {low:+.3f} to {high:+.3f}"
    )
    if not choice.changed:
        return (
            f"hybrid: no share of BM25 beats the default {choice.default} on your "
            f"{choice.questions} questions beyond noise ({held_out})."
        )
    return (
        f"hybrid: on your {choice.questions} questions BM25's share {choice.weight} ranks best "
        f"(NDCG@10 {choice.ndcg[choice.weight]:.3f} against {choice.ndcg[choice.default]:.3f} "
        f"at the default {choice.default}; {held_out}). Search with it: `edgembed serve "
        f"EXPORT --corpus WORKSPACE --hybrid-weight {choice.weight}`."
    )


def reranker_line(report: EvaluationReport) -> str | None:
    """What --reranker did to the fine-tuned model's order on the set the verdict is decided
    on, with the 95% interval of the per-question change; None without a reranker."""
    qs = report.query_sets[-1]
    if RERANKED not in qs.per_query_ndcg:
        return None
    own, reranked = qs.per_query_ndcg["fine-tuned"], qs.per_query_ndcg[RERANKED]
    low, high = paired_bootstrap(np.asarray(own), np.asarray(reranked))
    change = (
        f"the fine-tuned model's top {FIRST_STAGE} reranked score "
        f"{qs.metrics[RERANKED].ndcg_at_10:.3f} NDCG@10 against "
        f"{qs.metrics['fine-tuned'].ndcg_at_10:.3f} in its own order, 95% interval of the "
        f"change {low:+.3f} to {high:+.3f}, over {len(own)} {qs.name}"
    )
    caveat = (
        ""
        if qs.name == REAL_QUESTIONS
        else " (the eval pairs can flatter or sink a reranker: judge it with --questions)"
    )
    if low > 0:
        advice = "it helps: serve it with `edgembed serve EXPORT --reranker RERANKER_EXPORT`"
    elif high < 0:
        advice = "it ranks worse: do not serve it"
    else:
        advice = "no difference beyond noise: leave it off, it only adds time"
    return f"reranker: {change}; {advice}{caveat}."


def stage_lines(report: EvaluationReport) -> list[str]:
    """What the real questions say of the search stages after dense: hybrid's BM25 share and
    the reranker, where measured."""
    return [line for line in (hybrid_line(report), reranker_line(report)) if line]


def _markdown(report: EvaluationReport) -> str:
    lines = [
        "# edgembed evaluation",
        "",
        f"- Fine-tuned: `{report.model}`",
        f"- Base: `{report.base_model}`",
        f"- Corpus: {report.chunks} chunks ({_retrieved_from(report)})",
        f"- Verdict: {verdict_line(report)}",
        *(f"- {line}" for line in stage_lines(report)),
        "",
        "| query set | system | " + " | ".join(COLUMNS) + " |",
        "|---|---|" + "---|" * len(COLUMNS),
    ]
    for row in comparison_rows(report):
        lines.append(f"| {row[0]} | {row[1]} | " + " | ".join(f"{v:.3f}" for v in row[2:]) + " |")
    for qs in report.query_sets:
        lines += [
            "",
            f"## {qs.name}: mean cosine similarity of question and answer passage",
            "",
            f"base {qs.mean_cosine_base:.3f} -> fine-tuned {qs.mean_cosine_tuned:.3f} "
            f"({qs.mean_cosine_tuned - qs.mean_cosine_base:+.3f}); "
            f"{qs.improved_share:.0%} of queries improved. Contrastive training rescales "
            "cosines: judge by the retrieval figures above.",
            "",
            "Sample queries (top 3 before -> after; * marks a correct passage):",
        ]
        for sample in qs.samples:
            lines += ["", f"- **{sample['query']}**"]
            lines += [f"  - before: {hit}" for hit in sample["before"]]
            lines += [f"  - after: {hit}" for hit in sample["after"]]
    return "\n".join(lines) + "\n"


def _chart(report: EvaluationReport) -> bytes:
    import matplotlib.pyplot as plt

    fig = chart_figure(report)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()


def chart_figure(report: EvaluationReport) -> Figure:
    """The chart of evaluate.png: three metrics of each system, a panel per query set (close
    it with ``matplotlib.pyplot.close``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = report.query_sets
    # At least 8.5 inches: one panel must still hold the title and the legend's row.
    width = max(8.5, 5.5 * len(sets))
    fig, axes = plt.subplots(1, len(sets), figsize=(width, 4.3), squeeze=False)
    colors = {
        "base": "#9e9e9e",
        "base as shipped": "#616161",
        "fine-tuned": "#1f77b4",
        "bm25": "#ff7f0e",
        "hybrid": "#2ca02c",
        "reranked": "#9467bd",
    }
    systems = list(sets[0].metrics) if sets else list(SYSTEMS)
    width = 0.8 / len(systems)
    for ax, qs in zip(axes[0], sets, strict=True):
        metrics = ("NDCG@10", "Acc@1", "Acc@3")
        for offset, system in enumerate(systems):
            m = qs.metrics[system]
            values = (m.ndcg_at_10, m.accuracy_at_1, m.accuracy_at_3)
            xs = [i + (offset - (len(systems) - 1) / 2) * width for i in range(len(metrics))]
            ax.bar(xs, values, width=width, label=system, color=colors[system])
        ax.set_xticks(range(len(metrics)), metrics)
        ax.set_ylim(0, 1)
        ax.set_title(f"{qs.name} ({qs.metrics['base'].queries} queries)")
        ax.grid(axis="y", alpha=0.3)
    # One legend for the panels, in a row under them: inside a panel it covered bars.
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(SYSTEMS), frameon=False)
    fig.suptitle("Retrieval over the whole corpus: base models vs fine-tuned vs BM25 vs hybrid")
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def write_evaluation_report(report: EvaluationReport, reports_dir: Path) -> list[Path]:
    """Write evaluate.json, evaluate.md and evaluate.png atomically; return their paths."""
    paths = [reports_dir / f"evaluate.{ext}" for ext in ("json", "md", "png")]
    write_json(paths[0], report.to_json())
    write_text(paths[1], _markdown(report))
    write_bytes(paths[2], _chart(report))
    return paths


def _retrieved_from(report: EvaluationReport) -> str:
    """Over how many passages each query set retrieved."""
    sampled = [r for r in report.query_sets if r.passages and r.passages < report.chunks]
    if not sampled:
        return "retrieval over all of them"
    return "; ".join(
        f"{r.name}: retrieval over {r.passages:,} of them, every answer and a random sample "
        "(evaluate --max-passages)"
        for r in sampled
    )
