"""`edgembed improve`: the marks people gave become a candidate model, judged, and promoted as
the next version only when it is better."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from edgembed.cli.options import (
    CliState,
    defaults_of,
    device_option,
    pass_state,
    questions_option,
    seed_option,
)
from edgembed.cli.table import format_table
from edgembed.config import TrainConfig
from edgembed.improve import ImproveConfig
from edgembed.improve import improve as run_improve

__all__ = ["improve"]

_T = defaults_of(TrainConfig)


@click.command()
@click.option(
    "--feedback",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="The feedback database the server filled (`serve --feedback-db`).",
)
@click.option(
    "--export",
    "export_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="The export in service (a folder, or a name under WORKSPACE/exports). Default: the "
    "newest export.",
)
@questions_option("Real questions to judge on too: the candidate must not be worse there.")
@click.option(
    "--holdout",
    type=click.FloatRange(0.05, 0.9),
    default=0.25,
    show_default=True,
    help="Share of the marked questions, newest first, held out to judge on (never trained on).",
)
@click.option(
    "--min-holdout",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Refuse to judge on fewer held-out questions than this.",
)
@click.option(
    "--start",
    type=click.Choice(["service", "base"]),
    default="service",
    show_default=True,
    help="Continue from the model in service, or train again from its base model.",
)
@click.option("--epochs", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--lr", "learning_rate", type=float, default=_T.learning_rate, show_default=True)
@click.option(
    "--mark-weight",
    type=click.IntRange(1, 100),
    default=4,
    show_default=True,
    help="Times each marked (question, passage) pair is trained on.",
)
@click.option(
    "--replay",
    type=click.FloatRange(0, 1, min_open=True),
    default=_T.replay,
    show_default=True,
    help="Share of the synthetic pairs trained on beside the marks.",
)
@click.option(
    "--hard-negatives",
    type=click.IntRange(0, 1),
    default=_T.hard_negatives,
    show_default=True,
    help="Mine one hard negative per pair with the model training starts from (always done "
    "when people marked passages as not answering: theirs are used where there are some). "
    "With --start base --epochs 2 this gained most on editorfaq, mostly from the "
    "retraining itself: +0.011 without marks, +0.015 with 200 (docs/findings.md).",
)
@click.option(
    "--soup",
    type=click.FloatRange(0, 1, min_open=True),
    default=1.0,
    show_default=True,
    help="Share of the trained candidate's weights in the model judged and promoted; the rest "
    "is the model in service's, averaged weight by weight (0.5: their average, a 'model soup'; "
    "1: the candidate as trained). On perlfaq's 146 marks 0.5 gained as much as 1 with half "
    "the spread between seeds (docs/findings.md).",
)
@click.option(
    "--max-minutes",
    type=click.FloatRange(min=0),
    default=_T.max_minutes,
    show_default=True,
    help="Time budget of the training (0: no limit).",
)
@seed_option
@device_option
@pass_state
def improve(state: CliState, /, **options: Any) -> None:
    """Train a better model from the marks people gave, and promote it only if it is.

    Holds out the newest marks (never trained on), trains a candidate from the model in service
    on the synthetic pairs plus the other marks (passages marked as not answering are hard
    negatives), and compares the two on the held-out marks (and --questions). A candidate that
    is better there, and not worse on the questions, is exported as the next version of the
    model (WORKSPACE/exports/NAME-vN, its lineage in the manifest). Serving it is your call: a
    new model's vectors do not compare with those already in your RAG index (docs/serving.md,
    "Versions").

    \b
    Example:
      edgembed improve --feedback feedback.db --questions docs/questions.jsonl
      edgembed versions load edgembed-model-v2   # into the running server, beside v1
    """

    result = run_improve(_config(options), state.workspace)
    if state.verbosity < 0:
        return
    rows = [
        [j.name, j.questions, j.service, j.candidate, f"{j.delta:+.3f}",
         f"{j.interval[0]:+.3f} to {j.interval[1]:+.3f}"]
        for j in result.judgements
    ]  # fmt: skip
    headers = ["judged on", "questions", "in service", "candidate", "change", "95% interval"]
    click.echo(format_table(headers, rows))
    click.echo(
        f"trained on {result.trained_marks} marks, judged on {result.held_out_marks} held out"
    )
    if result.promoted is None:
        click.echo(f"KEPT the model in service: the candidate is {result.reason}.")
        return
    click.echo(f"PROMOTED: {result.reason}; wrote {result.promoted}")
    click.echo(
        f"Serve it beside the current one (`edgembed versions load {result.promoted.name}`, or "
        f"restart with `--version {result.promoted}`), re-embed your index with it, then switch: "
        f"`edgembed versions default {result.version}` (docs/serving.md, Versions)."
    )


def _config(options: dict[str, Any]) -> ImproveConfig:
    train = TrainConfig(
        epochs=options.pop("epochs"),
        learning_rate=options.pop("learning_rate"),
        mark_weight=options.pop("mark_weight"),
        replay=options.pop("replay"),
        hard_negatives=options.pop("hard_negatives"),
        max_minutes=options.pop("max_minutes"),
        seed=options.pop("seed"),
    )
    return ImproveConfig(
        feedback=options["feedback"],
        export=options["export_dir"],
        questions=options["questions"],
        holdout=options["holdout"],
        min_holdout=options["min_holdout"],
        start=options["start"],
        soup=options["soup"],
        train=train,
        device=options["device"],
    )
