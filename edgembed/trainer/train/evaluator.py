"""The per-epoch evaluation of `train`: the eval pairs' retrieval task, as sentence-transformers'
InformationRetrievalEvaluator runs it (it picks the best epoch)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from edgembed.evaluation.task import RetrievalTask
from edgembed.models.encode import NO_PROMPTS, Prompts

if TYPE_CHECKING:
    from sentence_transformers.sentence_transformer.evaluation import (
        InformationRetrievalEvaluator,
    )

__all__ = ["corpus_evaluator"]


def corpus_evaluator(
    task: RetrievalTask, prompts: Prompts = NO_PROMPTS, name: str = "corpus"
) -> InformationRetrievalEvaluator:
    """An IR evaluator of `task`: its queries against its whole corpus, each side with the
    model's prompt for it."""
    from sentence_transformers.sentence_transformer.evaluation import (
        InformationRetrievalEvaluator,
    )

    return InformationRetrievalEvaluator(
        queries={f"q{i}": query for i, query in enumerate(task.queries)},
        corpus={f"p{i}": text for i, text in enumerate(task.corpus)},
        relevant_docs={f"q{i}": {f"p{j}" for j in rel} for i, rel in enumerate(task.relevant)},
        name=name,
        accuracy_at_k=[1, 3, 5],
        precision_recall_at_k=[10],
        mrr_at_k=[10],
        ndcg_at_k=[10],
        map_at_k=[10],
        show_progress_bar=False,
        write_csv=False,
        query_prompt=prompts.query or None,
        corpus_prompt=prompts.document or None,
    )
