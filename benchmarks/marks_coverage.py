"""Do marks help the held-out questions whose answer someone marked? From marks_curve.py's runs.

For each run of LABEL and each seed, the held-out questions are split by whether a pool
question marked in that run was answered by the same passage ("covered"), and the change of
NDCG@10 beyond the CONTROL run of the same seed (the same recipe with no marks: `--marks 0`)
is printed for both groups.

    .venv/bin/python benchmarks/marks_coverage.py --quality W/svc --runs OUT/marks_curve.jsonl \\
        --set editorfaq --label hardneg --control hardneg-control
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.marks_curve import SERVICE, _write, halves, marks_for, pool_order  # noqa: E402
from benchmarks.quality import question_sets  # noqa: E402
from edgembed.corpus import read_chunks  # noqa: E402
from edgembed.evaluation.questions import load_real_questions  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quality", type=Path, required=True, help="a quality run's WORK/LABEL")
    parser.add_argument("--runs", type=Path, required=True, help="marks_curve.jsonl")
    parser.add_argument("--set", default="editorfaq")
    parser.add_argument("--label", required=True)
    parser.add_argument("--control", required=True, help="the label of the --marks 0 runs")
    args = parser.parse_args()
    runs = [json.loads(line) for line in args.runs.read_text().splitlines() if line.strip()]
    runs = [r for r in runs if r["set"] == args.set and r["strategy"] == "random"]
    control = {r["seed"]: r for r in runs if r["label"] == args.control}
    pool_rows, held_rows = halves(question_sets()[args.set].questions)
    scratch = Path(tempfile.mkdtemp())
    pool, heldout = (
        _write(pool_rows, scratch / "pool.jsonl"),
        _write(held_rows, scratch / "h.jsonl"),
    )
    print("seed | marks | covered | beyond control: covered | not covered")
    for run in (r for r in runs if r["label"] == args.label and r["seed"] in control):
        workspace = args.quality / args.set / f"seed{run['seed']}"
        chunks = read_chunks(workspace / "chunks.jsonl")
        order = pool_order("random", workspace / "models" / SERVICE, chunks, pool, run["seed"])
        count = len(order) if run["marks"] == "all" else int(run["marks"])
        marked = {m.chunk_id for m in marks_for(pool, chunks, order, count)}
        covered = np.array(
            [
                any(chunks[i].id in marked for i in q.relevant)
                for q in load_real_questions(heldout, chunks)
            ]
        )
        beyond = np.array(run["candidate_per_query"]) - control[run["seed"]]["candidate_per_query"]
        print(
            f"{run['seed']} | {run['marks']} | {covered.sum()}/{len(covered)} | "
            f"{beyond[covered].mean():+.3f} | {beyond[~covered].mean():+.3f}"
        )


if __name__ == "__main__":
    main()
