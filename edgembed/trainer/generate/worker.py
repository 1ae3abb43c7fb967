"""One chunk, start to finish: questions, filters, paraphrases of the survivors, mixed-in ICT."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterable

from edgembed.config import GenerateConfig
from edgembed.corpus import Chunk
from edgembed.formats.pairs import Pair
from edgembed.trainer.generate.base import Candidate, Paraphraser, QuestionGenerator
from edgembed.trainer.generate.filters import ChunkFilter
from edgembed.trainer.generate.ict import ICTGenerator
from edgembed.trainer.generate.journal import ChunkRecord

__all__ = ["ChunkWorker"]


class ChunkWorker:
    """Turns a chunk into its `ChunkRecord`; safe to call from several threads at once.

    Each chunk gets its own random generator, seeded by the run's seed and the chunk id, so a
    chunk's ICT queries do not depend on which chunks ran before it (or in parallel with it).

    Args:
        config: the run's options.
        generator: writes the queries.
        ict: the ICT generator to mix in (--mix-ict), or None.
    """

    def __init__(
        self, config: GenerateConfig, generator: QuestionGenerator, ict: ICTGenerator | None
    ) -> None:
        self._generator = generator
        self._count = config.query_count
        self._ict_count = config.ict_count
        self._paraphrases = config.paraphrase_count
        self._seed = config.seed
        self._ict = ict

    @property
    def parallel(self) -> bool:
        """Whether chunks may be worked on from several threads at once."""
        return self._generator.parallel

    def __call__(self, chunk: Chunk) -> ChunkRecord:
        started = time.perf_counter()
        rng = random.Random(f"{self._seed}:{chunk.id}")
        judge = ChunkFilter(chunk.text)
        dropped: Counter[str] = Counter()
        generation = self._generator.generate(chunk, self._count, rng)
        dropped.update(generation.dropped)
        kept = _admit(generation.candidates, judge, dropped)
        pairs = _pairs(kept, chunk, self._generator)
        questions = [c.query for c in kept if c.kind == "question"]
        if self._paraphrases and questions and isinstance(self._generator, Paraphraser):
            rewording = self._generator.paraphrase(chunk, questions, self._paraphrases)
            dropped.update(rewording.dropped)
            pairs += _pairs(_admit(rewording.candidates, judge, dropped), chunk, self._generator)
        if self._ict is not None:
            extra = self._ict.generate(chunk, self._ict_count, rng)
            pairs += _pairs(_admit(extra.candidates, judge, dropped), chunk, self._ict)
        return ChunkRecord(chunk.id, pairs, dict(dropped), time.perf_counter() - started)


def _admit(
    candidates: Iterable[Candidate], judge: ChunkFilter, dropped: Counter[str]
) -> list[Candidate]:
    kept: list[Candidate] = []
    for candidate in candidates:
        reason = judge.judge(candidate)
        if reason is None:
            kept.append(candidate)
        else:
            dropped[reason] += 1
    return kept


def _pairs(
    candidates: Iterable[Candidate], chunk: Chunk, generator: QuestionGenerator
) -> tuple[Pair, ...]:
    return tuple(
        Pair(
            query=c.query,
            positive_id=chunk.id,
            positive=c.positive,
            doc=chunk.doc,
            kind=c.kind,
            generator=generator.name,
            model=generator.model,
        )
        for c in candidates
    )
