"""What a `generate` run did, for the terminal table and reports/generate.json."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["GenerateSummary"]


@dataclass(frozen=True)
class GenerateSummary:
    """The figures of one `generate` run (chunks done by earlier, resumed runs included).

    Attributes:
        generator, model: what wrote the queries.
        documents: documents read; skipped: (file, reason) of files that could not be read.
        chunks: chunks in the corpus; chunks_done: chunks the generator has worked on;
            chunks_resumed: of those, chunks done by an earlier run that this one continued.
        train_pairs, eval_pairs, train_chunks, eval_chunks: the split.
        kinds: pairs by kind (question, paraphrase, ict).
        dropped: rejected candidates and LLM answers, by reason.
        seconds_per_chunk: mean generation time of one chunk.
        seconds: wall time of this run.
    """

    generator: str
    model: str
    documents: int
    skipped: tuple[tuple[str, str], ...]
    chunks: int
    chunks_done: int
    chunks_resumed: int
    train_pairs: int
    eval_pairs: int
    train_chunks: int
    eval_chunks: int
    kinds: Mapping[str, int]
    dropped: Mapping[str, int]
    seconds_per_chunk: float
    seconds: float

    @property
    def pairs(self) -> int:
        return self.train_pairs + self.eval_pairs

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["skipped"] = [{"file": name, "reason": reason} for name, reason in self.skipped]
        data["pairs"] = self.pairs
        data["kinds"] = dict(self.kinds)
        data["dropped"] = dict(sorted(self.dropped.items()))
        return data
