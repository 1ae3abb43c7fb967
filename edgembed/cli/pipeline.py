"""`edgembed pipeline`: the whole job in one command, with a final summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from edgembed.cli.export import export, export_options, int8_rejected
from edgembed.cli.generate import generate, generate_config, generate_options
from edgembed.cli.options import (
    CliState,
    force_option,
    option_names,
    questions_option,
    seed_option,
    stage_options,
)
from edgembed.cli.table import format_table
from edgembed.cli.train import train, train_config, train_options
from edgembed.config import ExportConfig, PipelineConfig
from edgembed.pipeline import PipelineResult, run_pipeline

__all__ = ["pipeline"]

# What each stage takes from the pipeline's options: the stage's own bundle, and --seed.
# --force is the pipeline's, and the export is named after the model (--name).
GENERATE_OPTIONS = option_names(generate_options) | {"seed"}
TRAIN_OPTIONS = option_names(train_options) | {"seed"}
EXPORT_OPTIONS = option_names(export_options)


@click.command()
@click.argument("docs", type=click.Path(path_type=Path))
@generate_options
@train_options
@export_options
@questions_option("Real questions for evaluate. Default: DOCS/questions.jsonl when it exists.")
@click.option(
    "--reranker/--no-reranker",
    default=False,
    show_default=True,
    help="Also train a reranker (a cross-encoder, `train --reranker`) after the embedding "
    "model, score its reranking of the top 20 in evaluate, and export it beside the model "
    "only if it reranks better (on the real questions when there are some, else on the eval "
    "pairs). Off by default; what it gained and cost on the sample and the dev sets is in the "
    "README's quality section.",
)
@click.option(
    "--bench/--no-bench",
    default=True,
    show_default=True,
    help="Run the short benchmark after the export.",
)
@seed_option
@force_option("a model or export made from other inputs (or generate progress of other options)")
@click.pass_context
def pipeline(ctx: click.Context, /, docs: Path, **_: Any) -> None:
    """Run the whole job on DOCS: generate, train, evaluate, export, bench.

    Each stage skips itself when its output is already there and made from the same inputs,
    so re-running after a crash or an edit continues instead of starting over. If the
    fine-tuned model loses to its base model on retrieval, the base model is exported
    instead, and the summary says why. Exits 1, after the summary, when the int8 model failed
    the accuracy gate and the export holds fp32 only (as `edgembed export` does).

    Every option of `generate`, `train` and `export` is here too. One the pipeline is not
    given (as a flag, an EDGEMBED_PIPELINE_* variable or in edgembed.toml's [pipeline] table)
    is taken as the stage's own command takes it: from its variable (EDGEMBED_TRAIN_EPOCHS=1),
    then its table ([train] epochs = 1), then its default.

    \b
    Example (the embedded default: no LLM server, bundled model):
      edgembed pipeline sample_docs
    """
    state: CliState = ctx.obj
    train_values = stage_options(ctx, train, TRAIN_OPTIONS)
    generate_values = stage_options(ctx, generate, GENERATE_OPTIONS, [str(docs)])
    if ctx.get_parameter_source("chunk_model") is ParameterSource.DEFAULT:
        # Chunks are sized for the model the pipeline trains.
        generate_values["chunk_model"] = train_values["base_model"]
    config = PipelineConfig(
        generate=generate_config(docs, generate_values),
        train=train_config(train_values),
        export=ExportConfig(**stage_options(ctx, export, EXPORT_OPTIONS)),
        questions=ctx.params["questions"],
        reranker=ctx.params["reranker"],
        bench=ctx.params["bench"],
        force=ctx.params["force"],
    )
    echo = click.echo if state.verbosity >= 0 else (lambda _: None)
    result = run_pipeline(config, state.workspace, echo=echo)
    if state.verbosity >= 0:
        click.echo("")
        click.echo(summary_text(result))
    if result.int8_rejected and result.export_dir is not None:
        raise int8_rejected(result.parity["gate"]["message"], result.export_dir)


def summary_text(result: PipelineResult) -> str:
    """The final summary: quality, parity, speed, and how to serve the export."""
    lines = ["== edgembed summary =="]
    rows = []
    for name, qs in result.evaluation.get("query_sets", {}).items():
        base, tuned = qs["metrics"]["base"], qs["metrics"]["fine-tuned"]
        rows.append(
            [
                name,
                base["ndcg_at_10"],
                tuned["ndcg_at_10"],
                base["accuracy_at_3"],
                tuned["accuracy_at_3"],
            ]
        )
    if rows:
        lines.append(
            format_table(
                ["query set", "base NDCG@10", "tuned NDCG@10", "base Acc@3", "tuned Acc@3"], rows
            )
        )
        lines.append(
            f"verdict: {result.evaluation.get('verdict', '?')} "
            f"on {result.evaluation.get('decided_on', '?')}"
        )
    lines.append(f"exported: {result.export_note}")
    gate = result.parity.get("gate") or {}
    if gate:
        lines.append(f"int8 parity: {gate.get('message', '')}")
    figures = result.bench.get("figures", {})
    if figures:
        speed = ", ".join(
            f"{k.removeprefix('speedup.')} {v:.1f}x"
            for k, v in figures.items()
            if k.startswith("speedup.") and v
        )
        lines.append(f"speed vs PyTorch (this machine): {speed}")
    if result.export_dir is not None:
        lines.append(f"export folder: {result.export_dir}")
        lines.append(f"serve it:      edgembed serve {result.export_dir}")
    skipped = [s.name for s in result.stages if s.status == "skipped"]
    if skipped:
        lines.append(f"up to date and skipped: {', '.join(skipped)}")
    return "\n".join(lines)
