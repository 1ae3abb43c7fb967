"""Recipe sweep: many generate/train recipes on every real-question set, in parallel.

Which recipe wins on the questions people ask? Each recipe is a pair of argument strings for
`edgembed generate` and `edgembed train` (a JSON list of {"label", "generate", "train"}). The
sweep screens every recipe on every set with the screening seeds, then runs the best --top
recipes (and "default") again with the confirming seeds, and prints quality.py's table for
them. Pairs are generated once per (generate arguments, set, seed) and copied into each
recipe's workspace, so recipes that differ only in training share their pairs.

Every finished run goes to OUT/sweep.jsonl as it ends (per-question NDCG included), so a run
stopped by --budget-s keeps what it finished. Built for a machine with a GPU and many cores
(a GPU turns each training into seconds); it runs on a CPU too, slowly.

    python benchmarks/sweep.py --recipes benchmarks/recipes.json --workers 12 --budget-s 500
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.quality import (  # noqa: E402
    QuestionSet,
    _edgembed,
    evaluate_questions,
    print_table,
    question_sets,
    run_once,
    summarize,
)

_locks: dict[Path, threading.Lock] = {}
_locks_guard = threading.Lock()


def _generated(qs: QuestionSet, seed: int, gen_args: list[str], work: Path) -> Path:
    """The workspace holding this set's pairs for these generate arguments (made once)."""
    key = hashlib.sha1(json.dumps(gen_args).encode()).hexdigest()[:10]
    workspace = work / "_generated" / key / qs.name / f"seed{seed}"
    with _locks_guard:
        lock = _locks.setdefault(workspace, threading.Lock())
    with lock:
        if not (workspace / "reports" / "generate.json").exists():
            args = ["generate", str(qs.docs), "--seed", str(seed), "--force", *gen_args]
            _edgembed(workspace, *args)
    return workspace


def run_recipe(recipe: dict[str, Any], qs: QuestionSet, seed: int, work: Path) -> dict[str, Any]:
    started = time.perf_counter()
    source = _generated(qs, seed, recipe["generate"].split(), work)
    workspace = work / recipe["label"] / qs.name / f"seed{seed}"
    if workspace.exists():
        shutil.rmtree(workspace)
    shutil.copytree(source, workspace)
    _edgembed(workspace, "train", "--seed", str(seed), "--force", *recipe["train"].split())
    evaluate_questions(workspace, qs)
    run = run_once(qs, seed, work / recipe["label"], [], [], reuse=True)
    run.update(label=recipe["label"], wall_s=round(time.perf_counter() - started, 1))
    return run


def sweep(
    recipes: list[dict[str, Any]],
    sets: list[QuestionSet],
    seeds: list[int],
    work: Path,
    out: Path,
    workers: int,
    deadline: float,
) -> list[dict[str, Any]]:
    jobs = [(r, qs, seed) for seed in seeds for r in recipes for qs in sets]
    runs: list[dict[str, Any]] = []
    with ThreadPoolExecutor(workers) as pool:
        futures = {}
        for job in jobs:
            futures[pool.submit(_guarded, job, work, deadline)] = job
        for future in as_completed(futures):
            recipe, qs, seed = futures[future]
            run = future.result()
            if run is None:
                continue
            runs.append(run)
            with (out / "sweep.jsonl").open("a") as f:
                f.write(json.dumps(run) + "\n")
            print(
                f"{run['label']:>24} {qs.name:>13} seed {seed}: tuned "
                f"{run['ndcg']['fine-tuned']:.3f} delta {run['delta']:+.3f} "
                f"train {run['train_s']} s pairs {run['train_pairs']} wall {run['wall_s']} s",
                flush=True,
            )
    return runs


def _guarded(job: Any, work: Path, deadline: float) -> dict[str, Any] | None:
    recipe, qs, seed = job
    if time.time() > deadline:
        return None
    try:
        return run_recipe(recipe, qs, seed, work)
    except (Exception, SystemExit) as exc:  # a failed run skips itself; Ctrl-C stops all
        print(f"FAILED {recipe['label']} {qs.name} seed {seed}: {exc}"[:2000], flush=True)
        return None


def ranking(runs: list[dict[str, Any]]) -> list[tuple[str, float]]:
    """Recipes by their mean change over the sets (each set weighs the same)."""
    by_label: dict[str, dict[str, list[float]]] = {}
    for run in runs:
        by_label.setdefault(run["label"], {}).setdefault(run["set"], []).append(run["delta"])
    scores = {
        label: float(np.mean([np.mean(d) for d in per_set.values()]))
        for label, per_set in by_label.items()
    }
    return sorted(scores.items(), key=lambda kv: -kv[1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--recipes", type=Path, required=True)
    parser.add_argument("--sets", default="all")
    parser.add_argument("--screen-seeds", default="1")
    parser.add_argument("--confirm-seeds", default="2,3")
    parser.add_argument("--top", type=int, default=3)
    parser.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 2))
    parser.add_argument("--budget-s", type=float, default=3600)
    parser.add_argument("--work", type=Path, default=Path("/tmp/edgembed-sweep"))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    deadline = time.time() + args.budget_s
    recipes = json.loads(args.recipes.read_text())
    available = question_sets()
    names = list(available) if args.sets == "all" else args.sets.split(",")
    sets = [available[n] for n in names]
    args.out.mkdir(parents=True, exist_ok=True)
    screen = [int(s) for s in args.screen_seeds.split(",")]
    runs = sweep(recipes, sets, screen, args.work, args.out, args.workers, deadline)
    ranked = ranking(runs)
    print("\nscreening, mean change over the sets:")
    for label, score in ranked:
        print(f"  {label:>24} {score:+.4f}")
    confirm = [int(s) for s in args.confirm_seeds.split(",") if s]
    chosen = [label for label, _ in ranked[: args.top]]
    if "default" not in chosen and any(r["label"] == "default" for r in recipes):
        chosen.append("default")
    if confirm:
        again = [r for r in recipes if r["label"] in chosen]
        runs += sweep(again, sets, confirm, args.work, args.out, args.workers, deadline)
    for label in chosen:
        mine = [r for r in runs if r["label"] == label]
        summaries = []
        for qs in sets:
            per_set = sorted((r for r in mine if r["set"] == qs.name), key=lambda r: r["seed"])
            if per_set:
                summaries.append(summarize(per_set))
        if summaries:
            print_table(summaries, label)


if __name__ == "__main__":
    main()
