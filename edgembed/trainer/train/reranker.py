"""`edgembed train --reranker`: fine-tune a cross-encoder (a reranker) on the workspace's pairs.

Each training query is read with the passage that answers it and with passages an embedding
model ranks high but that do not answer it (hard negatives), and a cross-encoder learns to
score the answer above them (a softmax over the query's passages and other queries' answers,
sentence-transformers' MultipleNegativesRankingLoss for cross-encoders). People's marks join
in: a passage marked as answering is a positive, with the passages marked as not answering the
same query as its first negatives. It starts from a cross-encoder the team has, or, when it
has none, from the bundled MiniLM's weights with a new one-score head, which then learns ten
times faster than the weights under it. Every epoch is judged on what the reranker is for: the
held-out eval queries' top 20 passages by the embedder, reranked (NDCG@10), beside the
embedder's own order.
"""

from __future__ import annotations

import logging
import math
import random
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from edgembed.atomic import staging_folder, swap_in
from edgembed.config import TrainConfig, as_json
from edgembed.corpus import Chunk
from edgembed.corpus.sentences import body_sentences, strip_sentences
from edgembed.errors import MissingExtraError, OutputExistsError, TrainingError
from edgembed.evaluation.task import RetrievalTask, eval_pairs_task
from edgembed.formats.feedback import Mark
from edgembed.formats.training_record import TrainingRecord, read_training_record
from edgembed.models import (
    BUNDLED_MINILM,
    Prompts,
    describe_model,
    encode,
    load_sentence_transformer,
    pick_device,
    resolve_model,
)
from edgembed.trainer.train.budget import deadline_callback
from edgembed.trainer.train.data import TrainingData, load_training_data
from edgembed.trainer.train.loop import epoch_arguments
from edgembed.trainer.train.marks import read_usage
from edgembed.trainer.train.model_setup import (
    attention_dropout,
    restore_attention_dropout,
    use_bf16,
)
from edgembed.workspace import Workspace

if TYPE_CHECKING:
    from sentence_transformers import CrossEncoder, SentenceTransformer

__all__ = [
    "FIRST_STAGE",
    "NEGATIVES",
    "RerankerResult",
    "reranker_helps",
    "reranker_name",
    "train_reranker",
]

log = logging.getLogger(__name__)

NEGATIVES = 2
"""Hard negatives per training query."""
IN_BATCH = 4
"""Other queries' answers each query is also scored against."""
STUCK_SHARE = 0.97
"""A training loss above this share of a constant score's: not yet learning (cvsfaq after 0.4
of an epoch on a 2-core AVX2 box: 1.94 against ln 7 = 1.95, its reranking near random order's;
docs/findings.md)."""
HEAD_LR_FACTOR = 10.0
"""How much faster a new head learns than the weights under it (a head on an embedding
model's weights starts from nothing, and at the body's rate it did not learn: loss flat at its
constant-output value for two epochs; docs/findings.md)."""
FIRST_STAGE = 20
"""How many of the embedder's passages a query's reranking reads (and is judged on)."""
POSITIVE_SHARE = 0.95
"""A passage the embedder scores above this share of the answer's own score is not taken as a
negative (positive-aware mining, NV-Retriever's TopK-PercPos): on the sample half the top
negatives outscored the answer they were set against, most of them passages that answer too,
and the reranker learned to push the likeliest passages down (docs/findings.md)."""
KEEP_SENTENCE = 0.5
"""Share of the pairs whose answer keeps the sentence the query was taken from, and of the
negatives that keep all theirs. An inverse-cloze answer lacks its query's sentence while the
embedder's hard negatives share the query's words, and that alone taught the reranker that a
passage with the question's words is not the answer: on fetchmailfaq, taking out the answer's
sentence nearest the question raised its score for 57% of the questions (docs/findings.md).
With half the answers whole and a sentence out of half the negatives, neither a missing
sentence nor the query's words tells the answer by itself."""
_MINED = 4 * FIRST_STAGE
"""How deep in each query's ranking negatives are looked for."""
_DEFAULT_NAME = "edgembed-model-reranker"


class Stuck(NamedTuple):
    """A reranker's training loss that stayed near a constant score's (`RerankerResult.stuck`)."""

    loss: float  # the last epoch's
    constant: float  # every candidate scored alike
    epochs: float  # trained when `loss` was taken


@dataclass(frozen=True)
class RerankerResult:
    """Where the reranker went, and how the embedder's top 20 rank before and after it."""

    model_dir: Path
    first_stage_ndcg_at_10: float
    best_ndcg_at_10: float
    best_epoch: float
    seconds: float
    record: TrainingRecord

    @property
    def helps(self) -> bool:
        """Whether its reranking beats the embedder's own order on the eval queries."""
        return self.best_ndcg_at_10 > self.first_stage_ndcg_at_10

    @property
    def stuck(self) -> Stuck | None:
        """Its last training loss beside a constant score's, when the loss stayed near the
        constant's: a reranker that has barely begun to learn, whose near-equal scores shuffle
        the first stage's order. None when it moved away."""
        rows = [row for row in self.record.epochs if row.get("train_loss")]
        batch = int(self.record.config.get("batch_size", TrainConfig().batch_size))
        # every candidate (the answer, its negatives, the batch's other answers) alike
        constant = math.log(1 + NEGATIVES + min(IN_BATCH, batch - 1))
        if not rows or rows[-1]["train_loss"] < STUCK_SHARE * constant:
            return None
        return Stuck(float(rows[-1]["train_loss"]), constant, float(rows[-1]["epoch"]))


def reranker_helps(model_dir: Path) -> bool | None:
    """Whether a reranker `train --reranker` wrote beat its first stage on the eval queries
    (None: no training record, e.g. a team's own cross-encoder)."""
    record = read_training_record(model_dir)
    if record is None:
        return None
    return record.best_ndcg_at_10 > record.base_ndcg_at_10


def reranker_name(config: TrainConfig) -> str:
    """The reranker's folder name: --name when given, else edgembed-model-reranker."""
    return _DEFAULT_NAME if config.name == TrainConfig().name else config.name


def _embedder(workspace: Workspace, config: TrainConfig) -> str:
    """The embedding model whose rankings give the hard negatives and the first stage: the
    workspace's trained model when there is one, else the base model (if an embedder) or the
    bundled MiniLM."""
    trained = workspace.models / TrainConfig().name
    if (trained / "modules.json").exists():
        return str(trained)
    if describe_model(resolve_model(config.base_model)).kind == "embedder":
        return config.base_model
    return BUNDLED_MINILM


def _ranked(
    model: SentenceTransformer, prompts: Prompts, queries: list[str], corpus: list[str]
) -> np.ndarray[Any, Any]:
    """Each query's passages, best first, by the embedding model (the first stage)."""
    scores = encode(model, queries, prompts.query) @ encode(model, corpus, prompts.document).T
    return np.argsort(-scores, axis=1, kind="stable")


def _training_rows(
    model: SentenceTransformer,
    prompts: Prompts,
    data: TrainingData,
    marks: Sequence[Mark],
    seed: int = 0,
) -> dict[str, list[str]]:
    """The training rows, the negatives ranked by the embedding model for the pairs' and the
    marks' queries, without the passages it scores nearly as high as the answer
    (POSITIVE_SHARE)."""
    marked = _marked(marks, data.chunks, {chunk.id: i for i, chunk in enumerate(data.chunks)})
    queries = list(marked)
    asked = encode(model, [p.query for p in data.train] + queries, prompts.query)
    # One pass of the embedder over the corpus ranks both the pairs' and the marks' queries.
    scores = asked @ encode(model, [c.text for c in data.chunks], prompts.document).T
    answers = [[p.positive] for p in data.train] + [marked[q][0] for q in queries]
    flat = encode(model, [text for texts in answers for text in texts], prompts.document)
    starts = np.cumsum([0] + [len(texts) for texts in answers])
    answer_scores = [
        float(np.max(flat[start:stop] @ asked[row]))
        for row, (start, stop) in enumerate(zip(starts[:-1], starts[1:], strict=True))
    ]
    order = _below(scores, answer_scores)
    trained = len(data.train)
    by_query = dict(zip(queries, order[trained:], strict=True))
    return _rows(data, order[:trained], marked, by_query, random.Random(seed))


def _below(scores: np.ndarray[Any, Any], answer_scores: Sequence[float]) -> list[list[int]]:
    """Each query's _MINED best passages, best first, without those scored above
    POSITIVE_SHARE of its answer's score."""
    depth = min(_MINED, scores.shape[1])
    top = np.argsort(-scores, axis=1, kind="stable")[:, :depth]
    return [
        [int(i) for i in row if scores[query, i] < POSITIVE_SHARE * max(answer, 0.0)]
        for query, (row, answer) in enumerate(zip(top, answer_scores, strict=True))
    ]


def _rows(
    data: TrainingData, order: Sequence[Sequence[int]],
    marked: Mapping[str, tuple[list[str], list[str]]], mark_order: Mapping[str, Sequence[int]],
    rng: random.Random | None = None,
) -> dict[str, list[str]]:  # fmt: skip
    """(query, positive, NEGATIVES negatives) rows: each pair's positive (whole or without the
    query's sentence, KEEP_SENTENCE) and the passages the embedder ranks highest (of those
    `order` keeps) outside its section, some without one sentence; then each passage people
    marked as answering (`marked`, from `_marked`), with those marked as not answering the same
    query first. `rng`: None keeps every passage whole."""
    index = {chunk.id: i for i, chunk in enumerate(data.chunks)}
    rows: dict[str, list[str]] = {"query": [], "positive": []}
    rows.update({f"negative_{k + 1}": [] for k in range(NEGATIVES)})

    def add(query: str, positive: str, negatives: list[str]) -> None:
        negatives = [t for t in dict.fromkeys(negatives) if t != positive][:NEGATIVES]
        if len(negatives) < NEGATIVES:
            return  # a corpus too small to have that many other passages
        rows["query"].append(query)
        rows["positive"].append(positive)
        for k, text in enumerate(negatives):
            rows[f"negative_{k + 1}"].append(text)

    for pair, ranked in zip(data.train, order, strict=True):
        own = data.chunks[index[pair.positive_id]]
        top = [data.chunks[i] for i in ranked[: FIRST_STAGE + NEGATIVES]]
        others = [c for c in top if not _same_section(c, own)] + [c for c in top if c != own]
        others = list({c.id: c for c in others}.values())
        whole = rng is None or rng.random() < KEEP_SENTENCE
        add(pair.query, own.text if whole else pair.positive, [_cut(c, rng) for c in others])
    for query, (answers, wrong) in marked.items():
        ranked_texts = [data.chunks[i].text for i in mark_order[query]]
        for answer in answers:
            add(query, answer, [*wrong, *(t for t in ranked_texts if t not in answers)])
    return rows


def _cut(chunk: Chunk, rng: random.Random | None) -> str:
    """The chunk's text, without one of its sentences at random (1 - KEEP_SENTENCE of the
    time, and only when it has two or more)."""
    sentences = [s for line in body_sentences(chunk.body.split("\n")) for s in line]
    if rng is None or len(sentences) < 2 or rng.random() < KEEP_SENTENCE:
        return chunk.text
    gone = rng.choice(sentences)
    return strip_sentences(chunk, lambda sentence: sentence == gone)


def _marked(
    marks: Sequence[Mark], chunks: Sequence[Chunk], index: dict[str, int]
) -> dict[str, tuple[list[str], list[str]]]:
    """Each marked query's passages marked as answering it and as not answering it; only
    queries with at least one answer (a row needs a positive)."""
    grouped: dict[str, tuple[list[str], list[str]]] = {}
    for mark in marks:
        text = mark.passage or (
            chunks[index[mark.chunk_id]].text if mark.chunk_id in index else None
        )
        if text:
            grouped.setdefault(mark.query, ([], []))[0 if mark.relevant else 1].append(text)
    return {query: texts for query, texts in grouped.items() if texts[0]}


def _same_section(a: Chunk, b: Chunk) -> bool:
    return (a.doc, a.section) == (b.doc, b.section)


def _samples(task: RetrievalTask, order: np.ndarray[Any, Any]) -> list[dict[str, Any]]:
    """The eval queries with the embedder's top FIRST_STAGE passages, in its order."""
    return [
        {
            "query": query,
            "positive": [task.corpus[i] for i in relevant],
            "documents": [task.corpus[int(i)] for i in ranked[:FIRST_STAGE]],
        }
        for query, relevant, ranked in zip(task.queries, task.relevant, order, strict=True)
    ]


def _start_model(config: TrainConfig, device: str) -> CrossEncoder:
    """The team's cross-encoder, or the base embedding model's weights with a new head."""
    from sentence_transformers import CrossEncoder

    path = resolve_model(config.base_model)
    descriptor = describe_model(path)
    if descriptor.kind == "embedder":
        log.info("reranker: a new one-score head on %s's weights", config.base_model)
    model: CrossEncoder = CrossEncoder(
        str(path),
        num_labels=1,
        max_length=min(descriptor.max_seq_length, 512),
        device=device,
        local_files_only=True,
        # Attention dropout off: the fused attention kernel, a step 2.9x faster.
        config_kwargs=attention_dropout(path, 0.0),
    )
    if descriptor.kind == "embedder":
        _silence_head(model.model)
    return model


def _silence_head(network: Any) -> None:
    """A new head starts at zero: every passage scores the same, so the untrained reranker
    keeps the first stage's order (a stable sort) where a random head reorders it at random,
    and only what training teaches moves it."""
    import torch

    prefix = network.base_model_prefix
    heads = [
        module
        for name, module in network.named_modules()
        if not name.startswith(prefix) and isinstance(module, torch.nn.Linear)
    ]
    if heads and heads[-1].out_features == 1:
        torch.nn.init.zeros_(heads[-1].weight)
        if heads[-1].bias is not None:
            torch.nn.init.zeros_(heads[-1].bias)


def _arguments(config: TrainConfig, output: Path, device: str) -> Any:
    from sentence_transformers.cross_encoder import CrossEncoderTrainingArguments

    return CrossEncoderTrainingArguments(
        **epoch_arguments(config, output, "eval_rerank_ndcg@10", device),
        disable_tqdm=True,
        bf16=use_bf16(config.precision, device),
    )


def _optimizer(model: CrossEncoder, config: TrainConfig, new_head: bool) -> Any:
    """AdamW over the model, a new head (and the pooler under it) at HEAD_LR_FACTOR times
    the learning rate."""
    import torch

    network: Any = model.model
    named = [(n, p) for n, p in network.named_parameters() if p.requires_grad]
    prefix = f"{network.base_model_prefix}."

    def in_head(name: str) -> bool:
        return new_head and (not name.startswith(prefix) or ".pooler." in name)

    groups = [
        {"params": [p for n, p in named if not in_head(n)], "lr": config.learning_rate},
        {
            "params": [p for n, p in named if in_head(n)],
            "lr": config.learning_rate * HEAD_LR_FACTOR,
        },
    ]
    return torch.optim.AdamW([g for g in groups if g["params"]], weight_decay=0.0)


def _fit(
    model: CrossEncoder, config: TrainConfig, rows: dict[str, list[str]], evaluator: Any,
    staging: Path, device: str, begun: float, new_head: bool,
) -> tuple[list[dict[str, Any]], float]:  # fmt: skip
    """Train with a softmax over each query's passages; every evaluated epoch's figures, and
    the seconds."""
    from datasets import Dataset
    from sentence_transformers.cross_encoder import CrossEncoderTrainer
    from sentence_transformers.cross_encoder.losses import MultipleNegativesRankingLoss

    trainer = CrossEncoderTrainer(
        model=model,
        args=_arguments(config, staging / "checkpoints", device),
        train_dataset=Dataset.from_dict(rows),
        loss=MultipleNegativesRankingLoss(model, num_negatives=IN_BATCH),
        evaluator=evaluator,
        optimizers=(_optimizer(model, config, new_head), None),
    )
    if config.max_minutes:
        trainer.add_callback(deadline_callback(begun + config.max_minutes * 60, 0.0))
    started = time.perf_counter()
    try:
        trainer.train()
    except (RuntimeError, MemoryError) as exc:
        raise TrainingError(f"training the reranker failed: {exc}") from exc
    shutil.rmtree(staging / "checkpoints", ignore_errors=True)
    logged = trainer.state.log_history
    losses = {row["epoch"]: row["loss"] for row in logged if "loss" in row}
    history = [
        {**row, "train_loss": losses.get(row["epoch"])}
        for row in logged
        if "eval_rerank_ndcg@10" in row
    ]
    return history, time.perf_counter() - started


def train_reranker(config: TrainConfig, workspace: Workspace) -> RerankerResult:
    """Fine-tune a cross-encoder on the workspace's pairs and write models/<name>/.

    Raises:
        InputError: pairs or chunks are missing.
        ModelError: the base model or the embedding model is not available offline.
        OutputExistsError: the model folder exists and config.force is false.
        TrainingError: training failed.
    """
    try:
        import sentence_transformers  # noqa: F401
    except ImportError as exc:
        raise MissingExtraError("sentence-transformers", "train") from exc
    begun = time.perf_counter()
    data = load_training_data(workspace)
    used = read_usage(None, config.feedback)
    target = workspace.models / reranker_name(config)
    if target.exists() and not config.force:
        raise OutputExistsError(f"{target} already exists. Pass --force to overwrite it.")
    device = pick_device(config.device)
    embedder = _embedder(workspace, config)
    task = eval_pairs_task(data.chunks, data.eval)
    first_stage = load_sentence_transformer(embedder, device)
    prompts = Prompts.of(describe_model(resolve_model(embedder)))
    rows = _training_rows(first_stage, prompts, data, used[1] if used else [], config.seed)
    eval_order = _ranked(first_stage, prompts, list(task.queries), list(task.corpus))
    del first_stage  # not needed while the cross-encoder trains
    from sentence_transformers.cross_encoder.evaluation import CrossEncoderRerankingEvaluator

    evaluator = CrossEncoderRerankingEvaluator(
        _samples(task, eval_order), at_k=10, always_rerank_positives=False, name="rerank",
        write_csv=False,
    )  # fmt: skip
    model = _start_model(config, device)
    staging = staging_folder(target)
    try:
        new_head = describe_model(resolve_model(config.base_model)).kind == "embedder"
        history, seconds = _fit(model, config, rows, evaluator, staging, device, begun, new_head)
        network: Any = model.model
        restore_attention_dropout(network.config, resolve_model(config.base_model))
        model.save(str(staging))
        record = _record(config, embedder, data, rows, history, seconds, device, model)
        record.write(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    swap_in(staging, target)
    return RerankerResult(
        target, record.base_ndcg_at_10, record.best_ndcg_at_10, record.best_epoch, seconds, record
    )


def _record(
    config: TrainConfig, embedder: str, data: TrainingData, rows: dict[str, list[Any]],
    history: list[dict[str, Any]], seconds: float, device: str, model: Any,
) -> TrainingRecord:  # fmt: skip
    best = max(history, key=lambda row: row["eval_rerank_ndcg@10"])
    first_stage = float(best.get("eval_rerank_base_ndcg@10", 0.0))
    return TrainingRecord(
        base_model=config.base_model,
        base_model_path=str(resolve_model(config.base_model)),
        config=as_json(config),
        device=device,
        max_seq_length=int(model.max_length),
        data={
            "chunks": len(data.chunks),
            "train_pairs": len(data.train),
            "eval_pairs": len(data.eval),
            "rows": len(rows["query"]),
        },
        metric="rerank_ndcg@10",
        base={"rerank_ndcg@10": first_stage},
        epochs=tuple(
            {k.removeprefix("eval_"): v for k, v in row.items() if k.startswith("eval_")}
            | {"epoch": row["epoch"], "train_loss": row["train_loss"]}
            for row in history
        ),
        best_epoch=float(best["epoch"]),
        best_ndcg_at_10=float(best["eval_rerank_ndcg@10"]),
        base_ndcg_at_10=first_stage,
        finetuned_weight=1.0,
        saved={},
        saved_ndcg_at_10=float(best["eval_rerank_ndcg@10"]),
        train_seconds=round(seconds, 1),
        lineage={
            "kind": "reranker",
            "first_stage": embedder,
            "negatives_per_query": NEGATIVES,
            "in_batch_negatives": IN_BATCH,
        },
    )
