"""Training pairs: the `Pair` record, its JSONL files, and the chunk-level train/eval split."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from edgembed.atomic import read_jsonl, write_jsonl
from edgembed.errors import InputError

__all__ = ["Pair", "PairKind", "read_pairs", "split_by_chunk", "write_pairs"]

PairKind = Literal["question", "paraphrase", "ict", "logged", "feedback"]
"""question: written by an LLM; paraphrase: an LLM's rewording of one of its questions;
ict: an inverse-cloze query (a sentence taken out of the passage), made without an LLM;
logged: a real query from the server's log, labelled against the corpus; feedback: a real
query with the passage a person marked as answering it."""

_KINDS: tuple[str, ...] = get_args(PairKind)


@dataclass(frozen=True)
class Pair:
    """One (query, passage) training example.

    Attributes:
        query: the question or ICT sentence.
        positive_id: id of the chunk (in chunks.jsonl) that answers the query.
        positive: the passage text to train on: the chunk's text, except for ICT pairs, where
            the query sentence is usually taken out of it.
        doc: the document the chunk comes from.
        kind: how the query was made (see `PairKind`).
        generator: the generator that made it (``ict``, ``ollama``, ``openai``, ``llamacpp``).
        model: the LLM that wrote the query (``none`` for ICT).
    """

    query: str
    positive_id: str
    positive: str
    doc: str
    kind: PairKind
    generator: str
    model: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> Pair:
        """Build a pair from a JSON object, ignoring extra keys.

        Raises:
            KeyError: a field is missing.
            ValueError: a field has the wrong type or `kind` is unknown.
        """
        values = {name: row[name] for name in cls.__dataclass_fields__}
        if not all(isinstance(value, str) for value in values.values()):
            raise ValueError("every pair field must be a string")
        if values["kind"] not in _KINDS:
            raise ValueError(f"unknown kind '{values['kind']}' (expected one of {_KINDS})")
        if not values["query"].strip() or not values["positive"].strip():
            raise ValueError("query and positive must not be empty")
        return cls(**values)


def write_pairs(path: Path, pairs: Iterable[Pair]) -> None:
    """Write pairs as JSONL, atomically."""
    write_jsonl(path, (pair.to_json() for pair in pairs))


def read_pairs(path: Path) -> list[Pair]:
    """Read a pairs file written by `edgembed generate`.

    Raises:
        InputError: the file is missing or malformed; the message says how to remake it.
    """
    if not path.exists():
        raise InputError(f"{path} not found. Run `edgembed generate DOCS` first.")
    try:
        return [Pair.from_json(row) for row in read_jsonl(path)]
    except (ValueError, KeyError) as exc:
        raise InputError(
            f"{path} is malformed ({exc}). Re-run `edgembed generate DOCS --force`."
        ) from exc


def split_by_chunk(
    pairs: Sequence[Pair], eval_fraction: float, seed: int
) -> tuple[list[Pair], list[Pair]]:
    """Split pairs into train and eval by their positive chunk, never by pair.

    About `eval_fraction` of the chunks (at least one, when there are two or more and the
    fraction is above zero) go to eval with all their pairs, so no passage that is a positive
    in eval is ever a positive in training. The choice depends only on the chunk ids and `seed`.

    Returns:
        (train, eval), each in the order of `pairs`.
    """
    chunk_ids = sorted({pair.positive_id for pair in pairs})
    random.Random(f"split:{seed}").shuffle(chunk_ids)
    n_eval = round(eval_fraction * len(chunk_ids))
    if eval_fraction > 0 and len(chunk_ids) >= 2:
        n_eval = min(max(n_eval, 1), len(chunk_ids) - 1)
    eval_ids = set(chunk_ids[:n_eval])
    train = [pair for pair in pairs if pair.positive_id not in eval_ids]
    evaluation = [pair for pair in pairs if pair.positive_id in eval_ids]
    return train, evaluation
