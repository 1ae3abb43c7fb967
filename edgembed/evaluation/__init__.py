"""Measuring retrieval, shared by every stage that scores a model: train (per epoch), evaluate
(base vs fine-tuned), export (the int8 gate's parity check) and bench (accuracy per backend).

- `task`: the retrieval task (queries, corpus, relevant passages), built once for the eval
  pairs and for real questions, read the same way everywhere;
- `retrieval`: NDCG@10, MRR@10, Accuracy@k over a whole corpus;
- `bootstrap`: how sure a change on a set of questions is;
- `questions`: the real-question file format and its matching onto chunks;
- `bm25` and `hybrid`: the lexical reference line and its fusion with a dense model;
- `texts`: built-in texts for a workspace that has none.
"""

from edgembed.evaluation.bm25 import BM25, reciprocal_rank_fusion
from edgembed.evaluation.bootstrap import paired_bootstrap
from edgembed.evaluation.hybrid import HYBRID_WEIGHT
from edgembed.evaluation.questions import RealQuestion, load_real_questions, normalize_text
from edgembed.evaluation.retrieval import (
    RetrievalMetrics,
    ndcg_per_query,
    rank_corpus,
    retrieval_metrics,
    top_k,
)
from edgembed.evaluation.task import (
    EVAL_PAIRS,
    REAL_QUESTIONS,
    RetrievalTask,
    eval_pairs,
    eval_pairs_task,
    heldout_texts,
    load_tasks,
    real_questions_task,
)

__all__ = [
    "HYBRID_WEIGHT",
    "BM25",
    "EVAL_PAIRS",
    "REAL_QUESTIONS",
    "RealQuestion",
    "RetrievalMetrics",
    "RetrievalTask",
    "eval_pairs",
    "eval_pairs_task",
    "heldout_texts",
    "load_real_questions",
    "load_tasks",
    "ndcg_per_query",
    "normalize_text",
    "paired_bootstrap",
    "rank_corpus",
    "real_questions_task",
    "reciprocal_rank_fusion",
    "retrieval_metrics",
    "top_k",
]
