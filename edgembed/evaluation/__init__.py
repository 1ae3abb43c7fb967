"""Measuring retrieval, shared by every stage that scores a model: evaluate (base vs
fine-tuned), export (the int8 gate's parity check) and bench (accuracy per backend).

- `retrieval`: NDCG@10, MRR@10, Accuracy@k over a whole corpus;
- `bootstrap`: how sure a change on a set of questions is;
- `questions`: the real-question file format and its matching onto chunks;
- `query_sets`: the eval pairs and real questions, read the same way everywhere;
- `bm25`: the lexical reference line and half of hybrid search;
- `texts`: built-in texts for a workspace that has none.
"""

from edgembed.evaluation.bm25 import BM25, reciprocal_rank_fusion
from edgembed.evaluation.bootstrap import paired_bootstrap
from edgembed.evaluation.query_sets import QuerySet, build_query_sets, eval_pairs, load_query_sets
from edgembed.evaluation.questions import RealQuestion, load_real_questions, normalize_text
from edgembed.evaluation.retrieval import (
    RetrievalMetrics,
    ndcg_per_query,
    rank_corpus,
    retrieval_metrics,
    top_k,
)

__all__ = [
    "BM25",
    "QuerySet",
    "RealQuestion",
    "RetrievalMetrics",
    "build_query_sets",
    "eval_pairs",
    "load_query_sets",
    "load_real_questions",
    "ndcg_per_query",
    "normalize_text",
    "paired_bootstrap",
    "rank_corpus",
    "reciprocal_rank_fusion",
    "retrieval_metrics",
    "top_k",
]
