"""`edgembed evaluate`: base vs fine-tuned on retrieval over the whole corpus, decided on real
questions with a 95% interval, and its report (JSON, Markdown, a chart)."""

from edgembed.trainer.evaluate.compare import EvaluationReport, QuerySetResult, evaluate_models
from edgembed.trainer.evaluate.report import write_evaluation_report

__all__ = ["EvaluationReport", "QuerySetResult", "evaluate_models", "write_evaluation_report"]
