"""Training pairs from documents: question generators behind one protocol, filters, pair I/O.

`generate_pairs` runs the `generate` stage; `read_pairs` reads its output for training and
evaluation.
"""

from edgembed.corpus.build import EXCLUDED_FILES, load_corpus
from edgembed.corpus.pairs import Pair, PairKind, read_pairs, split_by_chunk, write_pairs
from edgembed.trainer.datagen.base import (
    Candidate,
    ChatBackend,
    Generation,
    Paraphraser,
    QuestionGenerator,
)
from edgembed.trainer.datagen.registry import GENERATORS, make_generator
from edgembed.trainer.datagen.runner import generate_pairs
from edgembed.trainer.datagen.summary import GenerateSummary

__all__ = [
    "EXCLUDED_FILES",
    "GENERATORS",
    "Candidate",
    "ChatBackend",
    "GenerateSummary",
    "Generation",
    "Pair",
    "PairKind",
    "Paraphraser",
    "QuestionGenerator",
    "generate_pairs",
    "load_corpus",
    "make_generator",
    "read_pairs",
    "split_by_chunk",
    "write_pairs",
]
