"""`edgembed generate`: training pairs from documents. Question generators behind one
protocol (inverse cloze without an LLM, Ollama, OpenAI-compatible servers, an embedded GGUF
model), filters, a per-chunk journal that resumes, and the train/eval split by passage.
"""

from edgembed.trainer.generate.base import (
    Candidate,
    ChatBackend,
    Generation,
    Paraphraser,
    QuestionGenerator,
)
from edgembed.trainer.generate.registry import GENERATORS, make_generator
from edgembed.trainer.generate.runner import generate_pairs
from edgembed.trainer.generate.split import split_by_chunk
from edgembed.trainer.generate.summary import GenerateSummary

__all__ = [
    "GENERATORS",
    "Candidate",
    "ChatBackend",
    "GenerateSummary",
    "Generation",
    "Paraphraser",
    "QuestionGenerator",
    "generate_pairs",
    "make_generator",
    "split_by_chunk",
]
