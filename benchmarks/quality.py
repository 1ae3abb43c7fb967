"""The quality benchmark: edgembed's embedded default on every real-question set, seeds included.

For each set (the sample corpus and every dev set under benchmarks/devsets/) and each seed it
runs what a user runs, in a workspace of its own:

    edgembed --workspace W generate DOCS --seed S --force [GENERATE_ARGS]
    edgembed --workspace W train --seed S --force [TRAIN_ARGS]
    edgembed --workspace W evaluate --questions QUESTIONS --allow-worse

(with --reranker-args, also `train --reranker --seed S --force ARGS`, and evaluate with
`--reranker W/models/edgembed-model-reranker`), then prints one table: per set, NDCG@10 of the
base model as edgembed runs it, the base model as shipped, and the fine-tuned model (means over
the seeds), the change against the better of the two bases with a 95% interval (paired
bootstrap over the questions, each question's change averaged over the seeds), how often the
synthetic eval pairs' verdict agreed with the real questions' verdict, and the training time.
Every run's figures go to OUT/quality.jsonl.

    .venv/bin/python benchmarks/quality.py                    # all sets, seeds 1 2 3
    .venv/bin/python benchmarks/quality.py --sets sample --seeds 1 --label try \\
        --generate-args "--keyword-queries 0.3" --train-args "--epochs 1"
    .venv/bin/python benchmarks/quality.py --label rerank --reranker-args ""   # + reranker
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edgembed.evaluation.bootstrap import paired_bootstrap  # noqa: E402

DEVSETS = ROOT / "benchmarks" / "devsets"
_SCRIPT = Path(sys.executable).parent / "edgembed"
EDGEMBED = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "edgembed"]


@dataclass(frozen=True)
class QuestionSet:
    name: str
    docs: Path
    questions: Path


def question_sets() -> dict[str, QuestionSet]:
    """The sample corpus and every dev set that has docs/ and questions.jsonl."""
    sets = {
        "sample": QuestionSet(
            "sample", ROOT / "sample_docs", ROOT / "sample_docs" / "questions.jsonl"
        )
    }
    for folder in sorted(p for p in DEVSETS.glob("*") if (p / "questions.jsonl").exists()):
        sets[folder.name] = QuestionSet(folder.name, folder / "docs", folder / "questions.jsonl")
    return sets


def _edgembed(workspace: Path, *args: str) -> None:
    command = [*EDGEMBED, "--workspace", str(workspace), "--quiet", *args]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"failed: {shlex.join(command)}\n{done.stdout}\n{done.stderr}")


RERANKER = "edgembed-model-reranker"


def evaluate_questions(workspace: Path, qs: QuestionSet, reranker: bool = False) -> None:
    """`edgembed evaluate` on the set's real questions, worse or not, no sample queries (and
    the fine-tuned model's top 20 reranked by the workspace's reranker)."""
    rerank = ["--reranker", str(workspace / "models" / RERANKER)] if reranker else []
    _edgembed(
        workspace,
        "evaluate",
        "--questions",
        str(qs.questions),
        "--allow-worse",
        "--samples",
        "0",
        *rerank,
    )


def run_once(
    qs: QuestionSet,
    seed: int,
    work: Path,
    gen_args: list[str],
    train_args: list[str],
    reuse: bool = False,
    reranker_args: list[str] | None = None,
) -> dict[str, Any]:
    """generate, train (and train a reranker) and evaluate one set with one seed (or, with
    `reuse`, read the figures of that run from its workspace); the figures of that run."""
    workspace = work / qs.name / f"seed{seed}"
    started = generated = trained = time.perf_counter()
    if not reuse:
        _edgembed(workspace, "generate", str(qs.docs), "--seed", str(seed), "--force", *gen_args)
        generated = time.perf_counter()
        _edgembed(workspace, "train", "--seed", str(seed), "--force", *train_args)
        trained = time.perf_counter()
        if reranker_args is not None:
            _edgembed(
                workspace, "train", "--reranker", "--seed", str(seed), "--force", *reranker_args
            )
        evaluate_questions(workspace, qs, reranker_args is not None)
    training = json.loads(
        (workspace / "models" / "edgembed-model" / "edgembed_training.json").read_text()
    )
    report = json.loads((workspace / "reports" / "evaluate.json").read_text())
    generate = json.loads((workspace / "reports" / "generate.json").read_text())
    sets = report["query_sets"]
    real, synthetic = sets["real questions"], sets.get("eval pairs")
    return {
        "set": qs.name,
        "seed": seed,
        "chunks": report["chunks"],
        "train_pairs": generate.get("train_pairs"),
        "train_chunks": generate.get("train_chunks"),
        "ndcg": {system: m["ndcg_at_10"] for system, m in real["metrics"].items()},
        "per_query": real["per_query_ndcg_at_10"],
        "baseline": real["baseline"],
        "delta": real["ndcg_at_10_delta"],
        "synthetic_delta": synthetic["ndcg_at_10_delta"] if synthetic else None,
        "synthetic_ndcg": (
            {system: m["ndcg_at_10"] for system, m in synthetic["metrics"].items()}
            if synthetic
            else None
        ),
        "generate_s": round(generated - started, 1),
        "train_s": training["train_seconds"],
        "wall_s": round(trained - started, 1),
        **_reranker_figures(workspace),
    }


def _reranker_figures(workspace: Path) -> dict[str, Any]:
    """The reranker's training figures, when the run trained one."""
    record = workspace / "models" / RERANKER / "edgembed_training.json"
    if not record.exists():
        return {}
    training = json.loads(record.read_text())
    return {
        "reranker_s": training["train_seconds"],
        "reranker_eval": [training["base_ndcg_at_10"], training["best_ndcg_at_10"]],
    }


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Means over the seeds of one set, and the 95% interval of the change."""
    systems = runs[0]["ndcg"].keys()
    mean = {s: float(np.mean([r["ndcg"][s] for r in runs])) for s in systems}
    baseline = max(("base", "base as shipped"), key=lambda s: mean[s])
    before = np.mean([r["per_query"][baseline] for r in runs], axis=0)
    after = np.mean([r["per_query"]["fine-tuned"] for r in runs], axis=0)
    agree = [
        (r["synthetic_delta"] > 0) == (r["delta"] > 0)
        for r in runs
        if r["synthetic_delta"] is not None
    ]
    reranked: dict[str, Any] = {}
    if "reranked" in runs[0]["per_query"]:
        first = np.mean([r["per_query"]["fine-tuned"] for r in runs], axis=0)
        second = np.mean([r["per_query"]["reranked"] for r in runs], axis=0)
        reranked = {
            "rerank_delta": mean["reranked"] - mean["fine-tuned"],
            "rerank_delta_ci95": paired_bootstrap(first, second),
            "rerank_delta_per_seed": [
                r["ndcg"]["reranked"] - r["ndcg"]["fine-tuned"] for r in runs
            ],
        }
    return {
        **reranked,
        "set": runs[0]["set"],
        "seeds": [r["seed"] for r in runs],
        "questions": len(before),
        "ndcg": mean,
        "baseline": baseline,
        "delta": mean["fine-tuned"] - mean[baseline],
        "delta_ci95": paired_bootstrap(before, after),
        "delta_per_seed": [r["ndcg"]["fine-tuned"] - r["ndcg"][baseline] for r in runs],
        "synthetic_agrees": f"{sum(agree)}/{len(agree)}",
        "train_s": float(np.mean([r["train_s"] for r in runs])),
    }


def print_table(summaries: list[dict[str, Any]], label: str) -> None:
    print(f"\n{label}: NDCG@10 on real questions, mean of seeds")
    print(
        "set | questions | better base | base | shipped | tuned | change (95% CI) | per seed "
        "| BM25 | hybrid | synthetic agrees | train s"
    )
    for s in summaries:
        n = s["ndcg"]
        low, high = s["delta_ci95"]
        seeds = " ".join(f"{d:+.3f}" for d in s["delta_per_seed"])
        print(
            f"{s['set']} | {s['questions']} | {s['baseline']} | {n['base']:.3f} | "
            f"{n['base as shipped']:.3f} | {n['fine-tuned']:.3f} | {s['delta']:+.3f} "
            f"({low:+.3f}, {high:+.3f}) | {seeds} | "
            f"{n['bm25']:.3f} | {n['hybrid']:.3f} | {s['synthetic_agrees']} | {s['train_s']:.0f}"
        )
    reranked = [s for s in summaries if "rerank_delta" in s]
    if reranked:
        print("\nset | fine-tuned | its top 20 reranked | change (95% CI) | per seed")
    for s in reranked:
        low, high = s["rerank_delta_ci95"]
        seeds = " ".join(f"{d:+.3f}" for d in s["rerank_delta_per_seed"])
        print(
            f"{s['set']} | {s['ndcg']['fine-tuned']:.3f} | {s['ndcg']['reranked']:.3f} | "
            f"{s['rerank_delta']:+.3f} ({low:+.3f}, {high:+.3f}) | {seeds}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sets", default="all", help="comma-separated set names, or 'all'")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--work", type=Path, default=Path("/tmp/edgembed-quality"))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--label", default="default")
    parser.add_argument("--generate-args", default="")
    parser.add_argument("--train-args", default="")
    parser.add_argument(
        "--reuse", action="store_true", help="read finished runs' figures, run nothing"
    )
    parser.add_argument(
        "--reranker-args",
        default=None,
        help="also train a reranker with these `train --reranker` arguments ('' for none) "
        "and score the fine-tuned model's top 20 reranked",
    )
    args = parser.parse_args()
    available = question_sets()
    names = list(available) if args.sets == "all" else args.sets.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]
    args.out.mkdir(parents=True, exist_ok=True)
    summaries = []
    for name in names:
        runs = []
        for seed in seeds:
            run = run_once(
                available[name],
                seed,
                args.work / args.label,
                shlex.split(args.generate_args),
                shlex.split(args.train_args),
                args.reuse,
                None if args.reranker_args is None else shlex.split(args.reranker_args),
            )
            run["label"] = args.label
            runs.append(run)
            with (args.out / "quality.jsonl").open("a") as out:
                out.write(json.dumps({k: v for k, v in run.items() if k != "per_query"}) + "\n")
            ndcg = run["ndcg"]
            print(
                f"{name} seed {seed}: base {ndcg['base']:.3f} shipped {ndcg['base as shipped']:.3f}"
                f" tuned {ndcg['fine-tuned']:.3f} ({run['delta']:+.3f}; synthetic "
                f"{run['synthetic_delta']}) train {run['train_s']} s, {run['train_pairs']} pairs "
                f"over {run['train_chunks']} chunks",
                flush=True,
            )
        summaries.append(summarize(runs))
    print_table(summaries, args.label)
    with (args.out / "summaries.jsonl").open("a") as out:
        for s in summaries:
            out.write(
                json.dumps(
                    {
                        "label": args.label,
                        "generate_args": args.generate_args,
                        "train_args": args.train_args,
                        **s,
                    }
                )
                + "\n"
            )


if __name__ == "__main__":
    main()
