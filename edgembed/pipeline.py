"""`edgembed pipeline`: chunk, generate, train, evaluate, export and bench in one run.

Each stage records a fingerprint of its inputs, and of the files it wrote, in
WORKSPACE/pipeline.json when it finishes. On the next run a stage whose inputs hash the same
and whose output files are still the ones it wrote is skipped, so a re-run after a crash or an
edit continues where it stopped, and a report another command replaced since (a standalone
`edgembed evaluate` of another model) is made again rather than trusted. `generate` keeps its
own per-chunk journal and resumes by itself. A stage whose inputs changed never replaces a
trained model or an export without `force`.

When the fine-tuned model is not better than its base model on retrieval (a tie included), the
pipeline exports the base model instead and says why.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from edgembed.atomic import write_json
from edgembed.config import BenchConfig, EvaluateConfig, PipelineConfig
from edgembed.errors import OutputExistsError
from edgembed.workspace import QUESTIONS_FILE, Workspace

__all__ = ["PipelineResult", "StageRun", "reranker_refusal", "run_pipeline"]

log = logging.getLogger(__name__)

STATE_FILE = "pipeline.json"


@dataclass(frozen=True)
class StageRun:
    """How one stage went: ``ran`` or ``skipped`` (up to date), and in how many seconds."""

    name: str
    status: str
    seconds: float
    note: str = ""


@dataclass
class PipelineResult:
    """What the pipeline did and the figures of its final summary."""

    stages: list[StageRun] = field(default_factory=list)
    evaluation: dict[str, Any] = field(default_factory=dict)
    exported_model: str = ""
    export_dir: Path | None = None
    export_note: str = ""
    parity: dict[str, Any] = field(default_factory=dict)
    bench: dict[str, Any] = field(default_factory=dict)

    @property
    def int8_rejected(self) -> bool:
        """True when the export wanted int8 but left it out: it failed the accuracy gate."""
        return bool(self.parity.get("gate")) and not self.parity.get("int8_kept", True)


def _hash_file(digest: Any, path: Path) -> None:
    digest.update(path.as_posix().encode())
    if path.is_file():
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)


def fingerprint(paths: Iterable[Path], settings: Any) -> str:
    """A hash of files' contents (folders: every file inside) and of a settings object."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            _hash_file(digest, file)
    return digest.hexdigest()


def _written(outputs: Iterable[Path]) -> str:
    """A fingerprint of the output files (not folders: a model is guarded by its inputs)."""
    return fingerprint([path for path in outputs if path.is_file()], "outputs")


class _State:
    """WORKSPACE/pipeline.json: the input fingerprint each stage last finished with, and the
    fingerprint of the files it wrote (under "STAGE:outputs")."""

    def __init__(self, workspace: Workspace) -> None:
        self.path = workspace.root / STATE_FILE
        self.data: dict[str, str] = json.loads(self.path.read_text()) if self.path.exists() else {}

    def fresh(self, stage: str, key: str, outputs: list[Path]) -> bool:
        return (
            self.data.get(stage) == key
            and all(p.exists() for p in outputs)
            and self.data.get(f"{stage}:outputs") == _written(outputs)
        )

    def done(self, stage: str, key: str, outputs: list[Path]) -> None:
        self.data[stage] = key
        self.data[f"{stage}:outputs"] = _written(outputs)
        write_json(self.path, self.data)


class _Runner:
    def __init__(self, config: PipelineConfig, workspace: Workspace, echo: Callable[[str], None]):
        self.config, self.workspace, self.echo = config, workspace, echo
        self.state = _State(workspace)
        self.result = PipelineResult()

    def stage(
        self, name: str, key: str, outputs: list[Path], run: Callable[[], str | None]
    ) -> None:
        if self.state.fresh(name, key, outputs):
            self.result.stages.append(StageRun(name, "skipped", 0.0, "up to date"))
            self.echo(f"[{name}] up to date, skipped")
            return
        self.echo(f"[{name}] running")
        started = time.perf_counter()
        note = run() or ""
        seconds = time.perf_counter() - started
        self.state.done(name, key, outputs)
        self.result.stages.append(StageRun(name, "ran", seconds, note))
        self.echo(f"[{name}] done in {seconds:.1f} s" + (f": {note}" if note else ""))

    def guard(self, what: Path, key_stage: str, key: str) -> None:
        """Refuse to replace `what` when it was made from other inputs, unless forced."""
        if what.exists() and self.state.data.get(key_stage) != key and not self.config.force:
            raise OutputExistsError(
                f"{what} exists but was made from other inputs than this run's. Pass --force "
                "to replace it, or use another --workspace or --name."
            )


def _generate(runner: _Runner) -> None:
    from edgembed.trainer.generate import generate_pairs

    config = runner.config.generate
    ws = runner.workspace
    key = fingerprint([config.chunk.docs], asdict(config))
    outputs = [ws.chunks, ws.pairs_train, ws.pairs_eval]

    def run() -> str:
        try:
            summary = generate_pairs(config, ws)
        except OutputExistsError:
            # Progress made with other options: --force starts it over. Edited documents
            # alone never get here (generate redoes only their changed chunks).
            if not runner.config.force:
                raise
            summary = generate_pairs(replace(config, force=True), ws)
        return f"{summary.train_pairs} train / {summary.eval_pairs} eval pairs"

    runner.stage("generate", key, outputs, run)


def _train(runner: _Runner) -> Path:
    from edgembed.trainer.train.finetune import train_model

    config = runner.config.train
    ws = runner.workspace
    target = ws.models / config.name
    key = fingerprint([ws.chunks, ws.pairs_train, ws.pairs_eval], asdict(config))
    runner.guard(target, "train", key)

    def run() -> str:
        result = train_model(replace(config, force=True), ws)
        return (
            f"eval NDCG@10 {result.base_ndcg_at_10:.3f} -> {result.best_ndcg_at_10:.3f} (best "
            f"epoch), {result.saved_ndcg_at_10:.3f} (saved)"
        )

    runner.stage("train", key, [target], run)
    return target


def _train_reranker(runner: _Runner, model: Path) -> Path | None:
    """With --reranker: a cross-encoder trained on the pairs, its negatives mined by the
    embedding model just trained."""
    if not runner.config.reranker:
        return None
    from edgembed.trainer.train.reranker import reranker_name, train_reranker

    config = runner.config.train
    ws = runner.workspace
    target = ws.models / reranker_name(config)
    key = fingerprint([ws.chunks, ws.pairs_train, ws.pairs_eval, model], asdict(config))
    runner.guard(target, "train-reranker", key)

    def run() -> str:
        result = train_reranker(replace(config, force=True), ws)
        return (
            f"top 20 NDCG@10 {result.first_stage_ndcg_at_10:.3f} -> {result.best_ndcg_at_10:.3f} "
            "reranked (eval pairs)"
        )

    runner.stage("train-reranker", key, [target], run)
    return target


def _questions(config: PipelineConfig) -> Path | None:
    """--questions, or DOCS/questions.jsonl when it exists (generate never reads it)."""
    default = config.generate.chunk.docs / QUESTIONS_FILE
    return config.questions or (default if default.is_file() else None)


def _evaluate(runner: _Runner, model: Path, reranker: Path | None) -> dict[str, Any]:
    from edgembed.trainer.evaluate.compare import evaluate_models
    from edgembed.trainer.evaluate.report import stage_lines, write_evaluation_report

    ws = runner.workspace
    questions = _questions(runner.config)
    inputs = [model, ws.chunks, ws.pairs_eval, *([questions] if questions else [])]
    inputs += [reranker] if reranker else []
    key = fingerprint(inputs, {"questions": str(questions), "reranker": str(reranker)})
    report_path = ws.report("evaluate")

    def run() -> str:
        config = EvaluateConfig(
            model=str(model),
            questions=questions,
            device=runner.config.train.device,
            reranker=str(reranker) if reranker else None,
        )
        report = evaluate_models(config, ws)
        write_evaluation_report(report, ws.reports)
        for line in stage_lines(report):
            runner.echo(line)
        return f"{report.verdict} ({report.delta_ndcg_at_10:+.3f} NDCG@10 on {report.decided_on})"

    runner.stage("evaluate", key, [report_path], run)
    data: dict[str, Any] = json.loads(report_path.read_text())
    runner.result.evaluation = data
    return data


def _export(runner: _Runner, model: Path, evaluation: dict[str, Any]) -> Path:
    from edgembed.exporter import export_model

    ws = runner.workspace
    chosen, note = str(model), "the fine-tuned model"
    if evaluation.get("verdict") != "better":
        chosen = evaluation["base_model"]
        against = evaluation.get("baseline", "base")
        note = (
            f"the BASE model {chosen}: the fine-tuned one was not better than the {against} "
            f"({evaluation['delta_ndcg_at_10']:+.3f} NDCG@10 on {evaluation['decided_on']})"
        )
    name = runner.config.train.name
    out = ws.exports / name
    # The user's real questions, when given, decide the int8 gate.
    questions = _questions(runner.config)
    config = replace(
        runner.config.export, model=chosen, name=name, out=out, force=True, questions=questions
    )
    settings = {"chosen": chosen, "export": asdict(runner.config.export), "q": str(questions)}
    key = fingerprint([model, *([questions] if questions else [])], settings)
    runner.guard(out, "export", key)

    def run() -> str:
        export_model(config, ws)
        return f"exported {note}"

    runner.stage("export", key, [out / "manifest.json"], run)
    runner.result.exported_model, runner.result.export_note = chosen, note
    runner.result.export_dir = out
    manifest = json.loads((out / "manifest.json").read_text())
    runner.result.parity = manifest.get("parity", {})
    return out


def reranker_refusal(evaluation: Mapping[str, Any], helps: bool | None) -> str | None:
    """Why a trained reranker is not exported, or None to export it. The real questions decide
    when the evaluation had some (the eval pairs flatter a reranker: on the sample they said
    0.417 -> 0.452 where the real questions said 0.746 -> 0.580), and only a gain beyond noise
    counts (the 95% interval of the per-question change above zero, as evaluate's verdict);
    else its training's verdict on the eval queries (`helps`, None when it has none)."""
    import numpy as np

    from edgembed.evaluation import REAL_QUESTIONS
    from edgembed.evaluation.bootstrap import paired_bootstrap
    from edgembed.trainer.evaluate.compare import RERANKED

    real = evaluation.get("query_sets", {}).get(REAL_QUESTIONS) or {}
    metrics = real.get("metrics", {})
    if RERANKED in metrics and "fine-tuned" in metrics:
        own, reranked = metrics["fine-tuned"]["ndcg_at_10"], metrics[RERANKED]["ndcg_at_10"]
        per_query = real.get("per_query_ndcg_at_10", {})
        low, high = paired_bootstrap(
            np.asarray(per_query.get("fine-tuned", [own])),
            np.asarray(per_query.get(RERANKED, [reranked])),
        )
        if reranked > own and low > 0:
            return None
        return (
            f"on your real questions the fine-tuned model's top 20 reranked score "
            f"{reranked:.3f} NDCG@10 against {own:.3f} in its own order (change 95% interval "
            f"{low:+.3f} to {high:+.3f}; it must lie above zero; reports/evaluate.md)"
        )
    if helps is False:
        return (
            "it ranks the eval queries' top 20 worse than the embedding model does "
            "(`edgembed train --reranker` says by how much)"
        )
    return None


def _export_reranker(runner: _Runner, reranker: Path, evaluation: Mapping[str, Any]) -> Path | None:
    """The reranker's export, beside the model's (its int8 judged on the real questions);
    none for a reranker that orders the top 20 worse than the embedder (`reranker_refusal`)."""
    from edgembed.trainer.train.reranker import reranker_helps

    refusal = reranker_refusal(evaluation, reranker_helps(reranker))
    if refusal is not None:
        runner.echo(f"not exporting {reranker.name}: {refusal}")
        return None
    from edgembed.exporter import export_model

    ws = runner.workspace
    out = ws.exports / reranker.name
    questions = _questions(runner.config)
    config = replace(
        runner.config.export, model=str(reranker), name=reranker.name, out=out, force=True,
        questions=questions,
    )  # fmt: skip
    key = fingerprint([reranker, *([questions] if questions else [])], asdict(config))
    runner.guard(out, "export-reranker", key)

    def run() -> str:
        export_model(config, ws)
        return f"serve both: edgembed serve {runner.result.export_dir} --reranker {out}"

    runner.stage("export-reranker", key, [out / "manifest.json"], run)
    return out


def _bench(runner: _Runner, export_dir: Path, questions: Path | None) -> None:
    from edgembed.bench.run import bench

    ws = runner.workspace
    key = fingerprint([export_dir / "manifest.json"], {"bench": "quick", "q": str(questions)})
    report = ws.report("bench")

    def run() -> None:
        bench(BenchConfig(export_dir=export_dir, questions=questions, quick=True), ws)

    runner.stage("bench", key, [report], run)
    runner.result.bench = json.loads(report.read_text())


def run_pipeline(
    config: PipelineConfig, workspace: Workspace, echo: Callable[[str], None] = log.info
) -> PipelineResult:
    """Run every stage in order, skipping those that are up to date.

    Raises:
        EdgembedError: from any stage; OutputExistsError when a model or export would be
            replaced by one made from other inputs without `force`.
    """
    runner = _Runner(config, workspace, echo)
    _generate(runner)
    model = _train(runner)
    reranker = _train_reranker(runner, model)
    evaluation = _evaluate(runner, model, reranker)
    export_dir = _export(runner, model, evaluation)
    if reranker is not None:
        _export_reranker(runner, reranker, evaluation)
    if config.bench:
        _bench(runner, export_dir, _questions(config))
    return runner.result
