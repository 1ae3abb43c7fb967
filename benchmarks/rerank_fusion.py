"""Does the trained reranker help when its ranking is fused with the first stage's instead of
replacing it? On a workspace's real questions: the fine-tuned embedder's (or the served hybrid's)
top 20, the reranker's scores of them, and NDCG@10 of the two rankings fused by reciprocal rank
at each reranker share (0: the first stage alone, 1: the reranker alone), and what a share
chosen on one half of the questions does to the other half (as evaluate chooses BM25's).

    .venv/bin/python benchmarks/rerank_fusion.py WORKSPACE QUESTIONS [--reranker DIR]

Writes WORKSPACE/reports/rerank_fusion.json (every share's NDCG@10, per first stage) and the
raw scores in rerank_fusion.npz, so other fusions can be tried without the models.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edgembed.evaluation.bm25 import BM25, reciprocal_rank_fusion  # noqa: E402
from edgembed.evaluation.bootstrap import paired_bootstrap  # noqa: E402
from edgembed.evaluation.hybrid import HYBRID_WEIGHT, cross_fit  # noqa: E402
from edgembed.evaluation.retrieval import ndcg_per_query, top_k  # noqa: E402
from edgembed.evaluation.task import REAL_QUESTIONS, load_tasks  # noqa: E402
from edgembed.models import (  # noqa: E402
    Prompts,
    describe_model,
    encode,
    load_sentence_transformer,
    resolve_model,
)
from edgembed.workspace import Workspace  # noqa: E402

DEPTH = 20
SHARES = tuple(round(0.1 * i, 1) for i in range(11))


def fused_order(first: np.ndarray, rerank: np.ndarray, share: float) -> np.ndarray:
    """Each row's candidates (`first`, best first) reordered by reciprocal rank fusion of their
    first-stage rank and the reranker's rank (`rerank`: its scores, same layout)."""
    position = -np.broadcast_to(np.arange(first.shape[1], dtype=np.float64), first.shape)
    fused = reciprocal_rank_fusion(position, rerank, weights=(1 - share, share))
    return np.take_along_axis(first, np.argsort(-fused, axis=1, kind="stable"), axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("workspace", type=Path)
    parser.add_argument("questions", type=Path)
    parser.add_argument("--reranker", type=Path)
    parser.add_argument("--model", type=Path)
    parser.add_argument(
        "--stages", default="dense,hybrid", help="first stages to rerank (dense, hybrid)"
    )
    args = parser.parse_args()
    from sentence_transformers import CrossEncoder

    workspace = Workspace(args.workspace)
    _, tasks = load_tasks(workspace, args.questions)
    task = next(t for t in tasks if t.name == REAL_QUESTIONS)
    relevant = [set(r) for r in task.relevant]
    folder = args.model or args.workspace / "models" / "edgembed-model"
    model = load_sentence_transformer(folder, "cpu")
    prompts = Prompts.of(describe_model(resolve_model(str(folder))))
    dense = (
        encode(model, task.queries, prompts.query)
        @ encode(model, task.corpus, prompts.document, progress=True).T
    )
    bm25 = BM25(task.corpus).scores(task.queries)
    hybrid = reciprocal_rank_fusion(bm25, dense, weights=(HYBRID_WEIGHT, 1 - HYBRID_WEIGHT))
    reranker = CrossEncoder(
        str(args.reranker or args.workspace / "models" / "edgembed-model-reranker"),
        local_files_only=True,
    )
    out: dict[str, object] = {"questions": len(relevant)}
    raw: dict[str, Any] = {"relevant": np.array([sorted(r) for r in relevant], dtype=object)}
    stages = args.stages.split(",")
    for stage, scores in [(s, {"dense": dense, "hybrid": hybrid}[s]) for s in stages]:
        first = top_k(scores, DEPTH)
        pairs = [
            (q, task.corpus[int(i)])
            for q, row in zip(task.queries, first, strict=True)
            for i in row
        ]
        predicted = np.asarray(reranker.predict(pairs, batch_size=32)).reshape(first.shape)
        raw[f"{stage}_first"], raw[f"{stage}_rerank"] = first, predicted
        per_share = {
            s: ndcg_per_query(fused_order(first, predicted, s)[:, :10], relevant) for s in SHARES
        }
        alone = per_share[0.0]  # share 0: the first stage's own order
        versus = {s: paired_bootstrap(alone, v) for s, v in per_share.items()}
        chosen, best, held_out_ci = cross_fit(per_share, 0.0)
        out[stage] = {
            "shares": {
                f"{s:.1f}": {
                    "ndcg_at_10": round(float(v.mean()), 4),
                    "vs_first_stage_ci95": [round(x, 4) for x in versus[s]],
                }
                for s, v in per_share.items()
            },
            "best_share": best,
            "held_out_gain": round(float(chosen.mean() - alone.mean()), 4),
            "held_out_gain_ci95": [round(x, 4) for x in held_out_ci],
        }
        print(stage, {s: round(float(v.mean()), 3) for s, v in per_share.items()})
        low, high = versus[1.0]
        print(
            f"  {stage}: reranked alone {per_share[1.0].mean():.3f} against "
            f"{alone.mean():.3f} ({per_share[1.0].mean() - alone.mean():+.3f}; "
            f"{low:+.3f}, {high:+.3f})"
        )
        print(
            f"  {stage}: a share chosen on one half moved the other half by "
            f"{chosen.mean() - alone.mean():+.3f} ({held_out_ci[0]:+.3f}, {held_out_ci[1]:+.3f})"
        )
    reports = args.workspace / "reports"
    reports.mkdir(exist_ok=True)
    (reports / "rerank_fusion.json").write_text(json.dumps(out, indent=1))
    np.savez(reports / "rerank_fusion.npz", **raw)


if __name__ == "__main__":
    main()
