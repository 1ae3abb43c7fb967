"""Soups of one recipe's seeds: the synthetic-only models of a quality run, averaged weight by
weight, scored on the marks curve's held-out half.

The marks curve compares a candidate with one synthetic-only model; part of what a candidate
gains could be what any second model averaged in gains (`improve --soup`). This scores each
seed's model, the soup of every two seeds and of all three, on the same held-out questions as
`benchmarks/marks_curve.py`; the change is against the mean of the soup's own seeds (paired
bootstrap, 95%).

    .venv/bin/python benchmarks/seed_soups.py --quality WORK/svc --set editorfaq
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.marks_curve import SERVICE, _write, halves, heldout_ndcg, soup  # noqa: E402
from benchmarks.quality import question_sets  # noqa: E402
from edgembed.corpus import read_chunks  # noqa: E402
from edgembed.evaluation.bootstrap import paired_bootstrap  # noqa: E402
from edgembed.trainer.train.soup import average_into  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quality", type=Path, required=True, help="a quality run's WORK/LABEL")
    parser.add_argument("--set", required=True)
    parser.add_argument("--seeds", default="1,2,3")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    models = {s: args.quality / args.set / f"seed{s}" / "models" / SERVICE for s in seeds}
    chunks = read_chunks(args.quality / args.set / f"seed{seeds[0]}" / "chunks.jsonl")
    with tempfile.TemporaryDirectory() as scratch:
        heldout = _write(halves(question_sets()[args.set].questions)[1], Path(scratch) / "h.jsonl")
        single = {s: heldout_ndcg(m, chunks, heldout) for s, m in models.items()}
        for seed, figures in single.items():
            print(f"seed {seed}: {figures.mean():.3f}")
        groups = [
            g for size in range(2, len(seeds) + 1) for g in itertools.combinations(seeds, size)
        ]
        for group in groups:
            souped = Path(scratch) / "soup"
            shutil.rmtree(souped, ignore_errors=True)
            soup(models[group[1]], models[group[0]], souped, 0.5)
            for count, seed in enumerate(group[2:], start=2):  # the running mean of the group
                average_into(souped, models[seed], count / (count + 1))
            after = heldout_ndcg(souped, chunks, heldout)
            before = np.mean([single[s] for s in group], axis=0)
            low, high = paired_bootstrap(before, after)
            print(
                f"soup {'+'.join(map(str, group))}: {after.mean():.3f}, "
                f"{after.mean() - before.mean():+.3f} ({low:+.3f}, {high:+.3f}) over its seeds"
            )


if __name__ == "__main__":
    main()
