"""How often a rule labels an unlabeled real question with a right passage, and how many it keeps.

For `train --queries`: a logged query has no answer attached, so a rule picks its passage. For
each real-question set (the sample and every dev set) and rule, prints the share of questions
the rule keeps and the share of those it labels right. Needs no training: one model, BM25.

    .venv/bin/python benchmarks/label_rules.py [MODEL] [--sets a,b]   # default: bundled MiniLM

MODEL may name each set's own model with {set}, e.g. a fine-tuned one per set:
/tmp/edgembed-quality/default/{set}/seed1/models/edgembed-model.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.quality import question_sets  # noqa: E402
from edgembed.config import ChunkConfig  # noqa: E402
from edgembed.corpus.build import load_corpus  # noqa: E402
from edgembed.evaluation.bm25 import BM25  # noqa: E402
from edgembed.evaluation.questions import load_real_questions  # noqa: E402
from edgembed.models import load_sentence_transformer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model", nargs="?", default="bundled:all-MiniLM-L6-v2")
    parser.add_argument("--sets", default="all")
    args = parser.parse_args()
    available = question_sets()
    names = list(available) if args.sets == "all" else args.sets.split(",")
    for name in names:
        qs = available[name]
        model = load_sentence_transformer(args.model.replace("{set}", name), "cpu")
        chunks = load_corpus(ChunkConfig(docs=qs.docs)).chunks
        questions = load_real_questions(qs.questions, chunks)
        texts = [c.text for c in chunks]
        corpus = model.encode(texts, normalize_embeddings=True, batch_size=32)
        queries = model.encode([q.question for q in questions], normalize_embeddings=True)
        dense = queries @ corpus.T
        d_order = np.argsort(-dense, axis=1)
        b_order = np.argsort(-BM25(texts).scores([q.question for q in questions]), axis=1)
        n = len(questions)
        rules = {
            "model's top passage": [int(d_order[i, 0]) for i in range(n)],
            "BM25's top passage": [int(b_order[i, 0]) for i in range(n)],
            "both agree on the top passage": [
                int(d_order[i, 0]) if d_order[i, 0] == b_order[i, 0] else None for i in range(n)
            ],
            "model's top in BM25's top 3": [
                int(d_order[i, 0]) if d_order[i, 0] in b_order[i, :3] else None for i in range(n)
            ],
            "model's margin >= 0.05": [
                int(d_order[i, 0])
                if dense[i, d_order[i, 0]] - dense[i, d_order[i, 1]] >= 0.05
                else None
                for i in range(n)
            ],
        }
        for rule, picks in rules.items():
            kept = [(i, p) for i, p in enumerate(picks) if p is not None]
            right = sum(p in questions[i].relevant for i, p in kept) / max(len(kept), 1)
            print(f"{name:13s} {rule:32s} kept {len(kept) / n:.2f} right {right:.2f}")


if __name__ == "__main__":
    main()
