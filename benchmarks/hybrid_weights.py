"""BM25's share in the hybrid, on real questions: NDCG@10 of dense, BM25 and their reciprocal
rank fusion at each weight, for each model given, over a workspace's chunks.

    .venv/bin/python benchmarks/hybrid_weights.py WORKSPACE QUESTIONS.jsonl \\
        [--model bundled:all-MiniLM-L6-v2] [--model WORKSPACE/models/edgembed-model]

This is how `edgembed.evaluation.hybrid.HYBRID_WEIGHT` was chosen (docs/findings.md, Hybrid):
on every set of real questions at once, never on one.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edgembed.corpus import read_chunks  # noqa: E402
from edgembed.evaluation.bm25 import BM25, reciprocal_rank_fusion  # noqa: E402
from edgembed.evaluation.questions import load_real_questions  # noqa: E402
from edgembed.evaluation.retrieval import ndcg_per_query, top_k  # noqa: E402
from edgembed.models import (  # noqa: E402
    Prompts,
    describe_model,
    encode,
    load_sentence_transformer,
    resolve_model,
)

WEIGHTS = (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workspace", type=Path)
    parser.add_argument("questions", type=Path)
    parser.add_argument("--model", action="append", default=[])
    args = parser.parse_args(argv)
    chunks = read_chunks(args.workspace / "chunks.jsonl")
    real = load_real_questions(args.questions, chunks)
    relevant = [set(q.relevant) for q in real]
    texts, queries = [c.text for c in chunks], [q.question for q in real]
    lexical = BM25(texts).scores(queries)
    print("model | questions | " + " | ".join(f"{w:.1f}" for w in WEIGHTS))
    for spec in args.model or ["bundled:all-MiniLM-L6-v2"]:
        model = load_sentence_transformer(spec, "cpu")
        prompts = Prompts.of(describe_model(resolve_model(spec)))
        dense = encode(model, queries, prompts.query) @ encode(model, texts, prompts.document).T
        row = []
        for weight in WEIGHTS:
            fused = reciprocal_rank_fusion(
                lexical, dense.astype(np.float64), weights=(weight, 1 - weight)
            )
            row.append(f"{ndcg_per_query(top_k(fused, 10), relevant).mean():.3f}")
        print(f"{spec} | {len(queries)} | " + " | ".join(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
