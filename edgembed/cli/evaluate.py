"""`edgembed evaluate`: base vs fine-tuned on retrieval, with BM25 and hybrid lines."""

from __future__ import annotations

import click

from edgembed.cli.options import (
    CliState,
    defaults_of,
    device_option,
    pass_state,
    questions_option,
)
from edgembed.cli.table import format_table
from edgembed.config import EvaluateConfig

__all__ = ["evaluate"]


@click.command()
@click.option(
    "--model", default=None, help="Fine-tuned model folder (default: newest in WORKSPACE/models/)."
)
@click.option(
    "--base",
    "base_model",
    default=None,
    help="Base model (default: the one the model was trained from).",
)
@questions_option(
    'JSONL of real questions: {"question", "doc", "section"|"evidence"} '
    'or {"question", "chunk_id"}.'
)
@click.option(
    "--samples",
    type=click.IntRange(min=0),
    default=defaults_of(EvaluateConfig).samples,
    show_default=True,
    help="Sample queries to show.",
)
@click.option(
    "--max-passages",
    type=click.IntRange(min=0),
    default=defaults_of(EvaluateConfig).max_passages,
    show_default=True,
    help="On a bigger corpus, retrieve from every passage that answers a query and a random "
    "sample of the others, this many in all (each model embeds them once: about 8 minutes a "
    "model per 10,000 on 2 cores). 0: the whole corpus, however big.",
)
@device_option
@click.option(
    "--reranker",
    default=None,
    help="A cross-encoder (a folder, e.g. WORKSPACE/models/edgembed-model-reranker from "
    "`train --reranker`): the fine-tuned model's top 20 reranked by it are scored too, as "
    "the 'reranked' system, and a line says whether to serve it (from the 95% interval of "
    "its per-question change).",
)
@click.option("--allow-worse", is_flag=True, help="Exit 0 even when the fine-tuned model is worse.")
@pass_state
def evaluate(state: CliState, /, allow_worse: bool, **options: object) -> None:
    """Compare the fine-tuned model with its base model on retrieval.

    Retrieves over the whole chunk corpus (up to --max-passages) for the held-out eval pairs
    and, with --questions,
    for real questions; reports NDCG@10, MRR@10, Accuracy@1/3/5 and Recall@10 for the base
    model, the fine-tuned model, BM25 and hybrid (BM25 + fine-tuned), plus the spec's mean
    cosine similarity; with --questions, the share of BM25 in the hybrid that suits your
    questions (`serve --hybrid-weight`). Writes WORKSPACE/reports/evaluate.{json,md,png}.
    Exits 1 when the fine-tuned model is worse than the base (decided on real questions when
    given).
    """
    from edgembed.trainer.evaluate.compare import evaluate_models
    from edgembed.trainer.evaluate.report import (
        comparison_rows,
        stage_lines,
        verdict_line,
        write_evaluation_report,
    )

    report = evaluate_models(EvaluateConfig(**options), state.workspace)  # type: ignore[arg-type]
    paths = write_evaluation_report(report, state.workspace.reports)
    if state.verbosity >= 0:
        click.echo(
            format_table(
                ["query set", "system", "NDCG@10", "MRR@10", "Acc@1", "Acc@3", "Acc@5", "R@10"],
                comparison_rows(report),
            )
        )
        for qs in report.query_sets:
            click.echo(
                f"{qs.name}: mean cosine {qs.mean_cosine_base:.3f} -> {qs.mean_cosine_tuned:.3f}, "
                f"{qs.improved_share:.0%} of queries improved"
            )
        click.echo(verdict_line(report))
        for line in stage_lines(report):
            click.echo(line)
        click.echo("wrote " + ", ".join(str(p) for p in paths))
    if report.verdict == "worse" and not allow_worse:
        raise click.ClickException("the fine-tuned model is worse than the base model (see above)")
