"""pairs.train.jsonl and pairs.eval.jsonl: the `Pair` record and its JSONL files."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from edgembed.atomic import read_jsonl, write_jsonl
from edgembed.errors import InputError

__all__ = ["Pair", "PairKind", "read_pairs", "write_pairs"]

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
