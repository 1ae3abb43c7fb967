"""`edgembed pipeline`: the whole job in one command, with a final summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from edgembed.cli.chunk import chunk_options
from edgembed.cli.generate import pair_options
from edgembed.cli.options import CliState, force_option, pass_state, seed_option
from edgembed.cli.table import format_table
from edgembed.cli.train import train_options
from edgembed.config import ChunkConfig, GenerateConfig, LLMConfig, PipelineConfig, TrainConfig
from edgembed.pipeline import PipelineResult, run_pipeline

__all__ = ["pipeline"]


@click.command()
@click.argument("docs", type=click.Path(path_type=Path))
@pair_options
@chunk_options
@train_options
@click.option(
    "--questions",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Real questions for evaluate. Default: DOCS/questions.jsonl when it exists.",
)
@click.option(
    "--bench/--no-bench",
    default=True,
    show_default=True,
    help="Run the short benchmark after the export.",
)
@seed_option
@force_option("a model or export made from other inputs")
@pass_state
def pipeline(state: CliState, /, docs: Path, **o: Any) -> None:
    """Run the whole job on DOCS: generate, train, evaluate, export, bench.

    Each stage skips itself when its output is already there and made from the same inputs,
    so re-running after a crash or an edit continues instead of starting over. If the
    fine-tuned model loses to its base model on retrieval, the base model is exported
    instead, and the summary says why.

    \b
    Example (the embedded default: no LLM server, bundled model):
      edgembed pipeline sample_docs
    """

    llm = LLMConfig(
        model=o["model"],
        ollama_host=o["ollama_host"],
        base_url=o["base_url"],
        api_key=o["api_key"],
        gguf=o["gguf"],
        timeout_s=o["llm_timeout"],
    )
    generate = GenerateConfig(
        chunk=ChunkConfig(
            docs=docs, chunk_words=o["chunk_words"], overlap_words=o["overlap_words"]
        ),
        generator=o["generator"],
        llm=llm,
        max_pairs=o["max_pairs"],
        questions_per_chunk=o["questions_per_chunk"],
        mix_ict=o["mix_ict"],
        seed=o["seed"],
    )
    train = TrainConfig(
        base_model=o["base_model"],
        name=o["name"],
        epochs=o["epochs"],
        batch_size=o["batch_size"],
        learning_rate=o["learning_rate"],
        finetuned_weight=o["finetuned_weight"],
        seed=o["seed"],
        device=o["device"],
    )
    config = PipelineConfig(
        generate=generate, train=train, questions=o["questions"], bench=o["bench"], force=o["force"]
    )
    echo = click.echo if state.verbosity >= 0 else (lambda _: None)
    result = run_pipeline(config, state.workspace, echo=echo)
    if state.verbosity >= 0:
        click.echo("")
        click.echo(summary_text(result))


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
