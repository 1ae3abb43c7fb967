"""What do marks say about the answers of questions nobody marked? No training: the model in
service alone.

marks_curve.py measures what a model retrained on marks gains on the held-out half. This asks
the question under it, for the same halves and the same random marks (seed by seed, N marks):

1. Coverage and the nearest marked question: for each held-out question, is its answer
   passage among the marked ones (covered), and does the marked question most like it (by the
   model in service) point at its answer? If marked questions resembled the held-out questions
   of the same passage (paraphrases), that share would be high and marks could teach a lot.
2. Marks as document expansion: each marked passage's vector moved toward its marked
   questions' (``sum``: the passage plus ALPHA times their sum, re-normalised) or scored by its
   best marked question where that is higher (``max``: ALPHA blends it with the passage's own
   score); held-out NDCG@10 against the model in service as it is, paired bootstrap over the
   questions, each averaged over the seeds.

    .venv/bin/python benchmarks/marks_signal.py --quality W/svc --set editorfaq --marks 25,100,200
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.marks_curve import (  # noqa: E402
    SERVICE,
    _vectors,
    _write,
    halves,
    marks_for,
    pool_order,
)
from benchmarks.quality import question_sets  # noqa: E402
from edgembed.corpus import read_chunks  # noqa: E402
from edgembed.evaluation.bootstrap import paired_bootstrap  # noqa: E402
from edgembed.evaluation.questions import load_real_questions  # noqa: E402
from edgembed.evaluation.retrieval import ndcg_per_query, top_k  # noqa: E402

Array = np.ndarray[Any, Any]


def expanded_scores(
    queries: Array, corpus: Array, marked: Array, passages: list[int], alpha: float, mode: str
) -> Array:
    """Held-out queries against passages expanded by their marked questions (`marked`: the
    vectors of the marks' questions; `passages`: the corpus row each mark names, in order)."""
    if mode == "sum":
        moved = corpus.copy()
        for vector, passage in zip(marked, passages, strict=True):
            moved[passage] += alpha * vector
        moved /= np.linalg.norm(moved, axis=1, keepdims=True)
        return queries @ moved.T
    scores = queries @ corpus.T
    by_passage: dict[int, list[int]] = {}
    for row, passage in enumerate(passages):
        by_passage.setdefault(passage, []).append(row)
    for passage, rows in by_passage.items():
        best = (queries @ marked[rows].T).max(axis=1)
        own = scores[:, passage]
        scores[:, passage] = np.maximum(own, alpha * best + (1 - alpha) * own)
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quality", type=Path, required=True, help="a quality run's WORK/LABEL")
    parser.add_argument("--set", default="editorfaq")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--marks", default="25,50,100,200")
    parser.add_argument("--alphas", default="0.25,0.5,1")
    parser.add_argument("--out", type=Path, default=Path("/tmp/marks_signal"))
    args = parser.parse_args()
    pool_rows, held_rows = halves(question_sets()[args.set].questions)
    args.out.mkdir(parents=True, exist_ok=True)
    pool = _write(pool_rows, args.out / "pool.jsonl")
    held = _write(held_rows, args.out / "heldout.jsonl")
    counts = [int(n) for n in args.marks.split(",")]
    alphas = [float(a) for a in args.alphas.split(",")]
    pool_questions = [row["question"] for row in pool_rows]
    at = {question: i for i, question in enumerate(pool_questions)}
    service_ndcg: list[Array] = []
    ndcg: dict[tuple[int, str, float], list[Array]] = {}
    for seed in map(int, args.seeds.split(",")):
        workspace = args.quality / args.set / f"seed{seed}"
        service = workspace / "models" / SERVICE
        chunks = read_chunks(workspace / "chunks.jsonl")
        ids = {chunk.id: i for i, chunk in enumerate(chunks)}
        real = load_real_questions(held, chunks)
        relevant = [set(q.relevant) for q in real]
        vectors, corpus = _vectors(service, chunks, [q.question for q in real] + pool_questions)
        queries, pooled = vectors[: len(real)], vectors[len(real) :]
        service_ndcg.append(ndcg_per_query(top_k(queries @ corpus.T, 10), relevant))
        order = pool_order("random", service, chunks, pool, seed)
        for count in counts:
            marks = marks_for(pool, chunks, order, count)
            marked = pooled[[at[mark.query] for mark in marks]]
            passages = [ids[str(mark.chunk_id)] for mark in marks]
            nearest = (queries @ marked.T).argmax(axis=1)
            covered = np.mean([bool(set(passages) & r) for r in relevant])
            shares = np.mean([passages[j] in r for j, r in zip(nearest, relevant, strict=True)])
            print(
                f"{args.set} seed {seed}, {count} marks: answer passage marked for "
                f"{covered:.0%} of the held-out questions; the nearest marked question "
                f"points at the answer for {shares:.0%}",
                flush=True,
            )
            for alpha in alphas:
                for mode in ("sum", "max"):
                    scores = expanded_scores(queries, corpus, marked, passages, alpha, mode)
                    found = ndcg_per_query(top_k(scores, 10), relevant)
                    ndcg.setdefault((count, mode, alpha), []).append(found)
    before = np.mean(service_ndcg, axis=0)
    print(f"held-out NDCG@10 of the model in service: {before.mean():.3f}")
    print("marks | expansion | alpha | change (95% interval)")
    for (count, mode, alpha), runs in ndcg.items():
        after = np.mean(runs, axis=0)
        low, high = paired_bootstrap(before, after)
        change = after.mean() - before.mean()
        print(f"{count} | {mode} | {alpha:g} | {change:+.3f} ({low:+.3f}, {high:+.3f})")


if __name__ == "__main__":
    main()
