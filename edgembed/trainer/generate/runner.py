"""The `generate` stage: documents -> chunks.jsonl + pairs.train.jsonl + pairs.eval.jsonl.

Chunks are visited in a seeded random order, so that --max-pairs samples the whole corpus
rather than its first documents. Each chunk's pairs are saved as soon as it is done
(journal.py); the pairs files are assembled from those records at the end: duplicates across
chunks dropped, the cap applied, then the chunk-level train/eval split.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import replace
from typing import Any

from edgembed.atomic import write_json
from edgembed.config import GenerateConfig
from edgembed.corpus import Chunk
from edgembed.corpus.build import load_corpus, write_corpus
from edgembed.corpus.sentences import normalize_query
from edgembed.errors import GeneratorError, OutputExistsError
from edgembed.formats.pairs import Pair, write_pairs
from edgembed.progress import progress
from edgembed.trainer.generate.base import QuestionGenerator
from edgembed.trainer.generate.consistency import INCONSISTENT, ConsistencyFilter
from edgembed.trainer.generate.ict import ICTGenerator
from edgembed.trainer.generate.journal import ChunkRecord, RunJournal
from edgembed.trainer.generate.registry import make_generator
from edgembed.trainer.generate.split import split_by_chunk
from edgembed.trainer.generate.summary import GenerateSummary
from edgembed.trainer.generate.worker import ChunkWorker
from edgembed.workspace import Workspace

__all__ = ["generate_pairs"]

log = logging.getLogger(__name__)

_GARBAGE_PROBE = 5  # chunks of useless LLM answers before a run gives up
# Finished chunks are saved (fsync) at most this often: an LLM chunk takes longer, so each is
# saved at once; thousands of fast ICT chunks do not pay an fsync each.
_SAVE_EVERY_S = 0.5


def generate_pairs(config: GenerateConfig, workspace: Workspace) -> GenerateSummary:
    """Run the whole stage, continuing an interrupted run with the same options.

    Raises:
        InputError: no documents, or a corrupt progress log.
        OutputExistsError: earlier progress or pairs would be lost without --force.
        LLMUnavailableError: the LLM cannot be reached or lacks the model.
        GeneratorError: the generator produced nothing usable.
    """
    started = time.perf_counter()
    corpus = load_corpus(config.chunk)
    chunks = list(corpus.chunks)
    generator = make_generator(config, chunks)
    generator.check()
    journal = RunJournal(workspace.generate_dir, _options(config, generator))
    if config.force:
        journal.reset()
    else:
        _refuse_to_overwrite(workspace, journal)
    consistency = (
        ConsistencyFilter(config.filter_model, chunks, config.filter_topk)
        if config.filter_topk
        else None
    )
    write_corpus(corpus, workspace)
    records = journal.open({chunk.id for chunk in chunks})
    resumed = len(records)
    order = {chunk.id: i for i, chunk in enumerate(_chunk_order(chunks, config.seed))}
    finished = {record.chunk_id for record in records}  # once: inside the filter it is quadratic
    todo = sorted((c for c in chunks if c.id not in finished), key=lambda c: order[c.id])
    mixed = (
        ICTGenerator.for_corpus(chunks, keyword_rate=config.keyword_queries)
        if config.mix_ict
        else None
    )
    worker = ChunkWorker(config, generator, mixed)
    records += _run(todo, records, config, worker, journal, consistency)
    train, evaluation, dropped = _write_pairs(records, order, config, workspace)
    summary = GenerateSummary(
        generator=generator.name,
        model=generator.model,
        documents=corpus.documents,
        skipped=corpus.skipped,
        chunks=len(chunks),
        chunks_done=len(records),
        chunks_resumed=resumed,
        train_pairs=len(train),
        eval_pairs=len(evaluation),
        train_chunks=len({p.positive_id for p in train}),
        eval_chunks=len({p.positive_id for p in evaluation}),
        kinds=dict(Counter(p.kind for p in [*train, *evaluation])),
        dropped=dict(dropped),
        seconds_per_chunk=sum(r.seconds for r in records) / max(len(records), 1),
        seconds=time.perf_counter() - started,
    )
    write_json(workspace.report("generate"), summary.to_json())
    return summary


def _write_pairs(
    records: Sequence[ChunkRecord],
    order: dict[str, int],
    config: GenerateConfig,
    workspace: Workspace,
) -> tuple[list[Pair], list[Pair], Counter[str]]:
    """Assemble, split and write the pairs; return (train, eval, dropped by reason)."""
    pairs, dropped = _assemble(records, order, config.max_pairs)
    if not pairs:
        raise GeneratorError(_nothing_usable(records))
    train, evaluation = split_by_chunk(pairs, config.eval_fraction, config.seed)
    write_pairs(workspace.pairs_train, train)
    write_pairs(workspace.pairs_eval, evaluation)
    for record in records:
        dropped.update(record.dropped)
    return train, evaluation, dropped


def _options(config: GenerateConfig, generator: QuestionGenerator) -> dict[str, Any]:
    """What decides each chunk's records: a run continues only when these are unchanged. The
    chunks are not among them: the journal keeps the records of the chunks that still exist."""
    return {
        "generator": generator.name,
        "model": generator.model,
        "questions_per_chunk": config.query_count,
        "paraphrases": config.paraphrase_count,
        "mix_ict": config.mix_ict,
        "keyword_queries": config.keyword_queries,
        "seed": config.seed,
        "filter_topk": config.filter_topk,
        "filter_model": config.filter_model if config.filter_topk else None,
    }


def _refuse_to_overwrite(workspace: Workspace, journal: RunJournal) -> None:
    conflict = journal.conflict()
    if conflict:
        raise OutputExistsError(
            f"{conflict}. Re-run with the same options to continue it, or pass --force to "
            "start over (edited documents need neither: their changed chunks are redone)."
        )
    existing = [p for p in (workspace.pairs_train, workspace.pairs_eval) if p.exists()]
    if existing and not journal.exists():
        raise OutputExistsError(
            f"{existing[0]} already exists and no resumable run made it here. "
            "Pass --force to replace it."
        )


def _chunk_order(chunks: Sequence[Chunk], seed: int) -> list[Chunk]:
    ordered = sorted(chunks, key=lambda chunk: chunk.id)
    random.Random(f"order:{seed}").shuffle(ordered)
    return ordered


def _run(
    todo: Sequence[Chunk],
    done: Sequence[ChunkRecord],
    config: GenerateConfig,
    worker: ChunkWorker,
    journal: RunJournal,
    consistency: ConsistencyFilter | None,
) -> list[ChunkRecord]:
    """Generate the chunks not done yet, saving each as it finishes, until the cap is met."""
    seen = {normalize_query(p.query) for record in done for p in record.pairs}
    threads = config.concurrency if worker.parallel else 1
    new: list[ChunkRecord] = []
    unsaved: list[ChunkRecord] = []
    saved_at = time.monotonic()
    # ICT costs microseconds a chunk: every chunk is visited and the cap thins them all
    # (`_assemble`). An LLM stops taking new chunks at the cap.
    cheap = config.generator == "ict"
    completed = _completed(
        todo, worker, threads, lambda: not cheap and len(seen) >= config.max_pairs
    )
    try:
        for record in progress(completed, desc="generate", total=len(todo), unit="chunk"):
            if consistency is not None:
                record = _check_consistency(record, consistency)
            new.append(record)
            unsaved.append(record)
            seen.update(normalize_query(p.query) for p in record.pairs)
            if time.monotonic() - saved_at >= _SAVE_EVERY_S:
                journal.append(unsaved)
                unsaved, saved_at = [], time.monotonic()
            if len(new) == _GARBAGE_PROBE and not any(r.pairs for r in new):
                if all(r.dropped.get("unparseable") or r.dropped.get("refusal") for r in new):
                    raise GeneratorError(_nothing_usable(new))
    finally:  # an error or Ctrl-C still saves every finished chunk
        journal.append(unsaved)
    return new


def _completed(
    todo: Sequence[Chunk],
    work: Callable[[Chunk], ChunkRecord],
    threads: int,
    enough: Callable[[], bool],
) -> Iterator[ChunkRecord]:
    """Records of `todo` as they finish, with up to `threads` chunks in flight.

    No new chunk starts once `enough()`; the first failure is raised after the records that
    finished with it have been handed out (and saved by the caller).
    """
    if threads == 1:
        for chunk in todo:
            if enough():
                return
            yield work(chunk)
        return
    queue = iter(todo)
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="generate")
    pending: set[Future[ChunkRecord]] = set()
    try:
        while True:
            while len(pending) < threads and not enough():
                upcoming = next(queue, None)
                if upcoming is None:
                    break
                pending.add(pool.submit(work, upcoming))
            if not pending:
                return
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            failures = [exc for exc in (f.exception() for f in finished) if exc is not None]
            yield from (f.result() for f in finished if f.exception() is None)
            if failures:
                raise failures[0]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _check_consistency(record: ChunkRecord, consistency: ConsistencyFilter) -> ChunkRecord:
    keeps = consistency.keeps([pair.query for pair in record.pairs], record.chunk_id)
    kept = tuple(pair for pair, keep in zip(record.pairs, keeps, strict=True) if keep)
    if len(kept) == len(record.pairs):
        return record
    dropped = Counter(record.dropped)
    dropped[INCONSISTENT] += len(record.pairs) - len(kept)
    return replace(record, pairs=kept, dropped=dict(dropped))


def _assemble(
    records: Sequence[ChunkRecord], order: dict[str, int], max_pairs: int
) -> tuple[list[Pair], Counter[str]]:
    """Every chunk's first pair, then every chunk's second, ... until `max_pairs`, without
    queries repeated across chunks: a cap thins every chunk's pairs instead of leaving the
    chunks visited last without any."""
    dropped: Counter[str] = Counter()
    seen: set[str] = set()
    pairs: list[Pair] = []
    ordered = sorted(records, key=lambda r: order[r.chunk_id])
    for rank in range(max((len(r.pairs) for r in ordered), default=0)):
        for record in ordered:
            if rank >= len(record.pairs):
                continue
            key = normalize_query(record.pairs[rank].query)
            if key in seen:
                dropped["duplicate_across_chunks"] += 1
            elif len(pairs) >= max_pairs:
                dropped["over_max_pairs"] += 1
            else:
                seen.add(key)
                pairs.append(record.pairs[rank])
    return pairs, dropped


def _nothing_usable(records: Sequence[ChunkRecord]) -> str:
    dropped: Counter[str] = Counter()
    for record in records:
        dropped.update(record.dropped)
    reasons = ", ".join(f"{reason}: {n}" for reason, n in dropped.most_common()) or "none"
    return (
        f"the generator made no usable pairs from {len(records)} chunks (dropped: {reasons}). "
        "With an LLM: run with -v to see its answers, and try a larger model or "
        "`--generator ict`. With ict: the documents may hold no full sentences."
    )
