from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgembed.errors import InputError
from edgembed.formats.pairs import Pair, read_pairs, write_pairs
from edgembed.trainer.generate.split import split_by_chunk


def _pairs(chunks: int, per_chunk: int) -> list[Pair]:
    return [
        Pair(
            f"query {c}-{i}?", f"chunk{c:03d}", f"text {c}", f"doc{c % 4}.md", "ict", "ict", "none"
        )
        for c in range(chunks)
        for i in range(per_chunk)
    ]


def test_split_is_by_chunk_with_no_leakage() -> None:
    pairs = _pairs(40, 3)
    train, evaluation = split_by_chunk(pairs, 0.15, seed=7)
    train_chunks = {p.positive_id for p in train}
    eval_chunks = {p.positive_id for p in evaluation}
    assert not train_chunks & eval_chunks
    assert len(eval_chunks) == 6 and len(train_chunks) == 34  # round(0.15 * 40)
    assert sorted(train + evaluation, key=pairs.index) == pairs  # nothing lost or duplicated
    assert all(len([p for p in evaluation if p.positive_id == c]) == 3 for c in eval_chunks)


def test_split_is_seeded_and_keeps_both_sides_non_empty() -> None:
    pairs = _pairs(40, 2)
    assert split_by_chunk(pairs, 0.15, 1) == split_by_chunk(pairs, 0.15, 1)
    assert split_by_chunk(pairs, 0.15, 1) != split_by_chunk(pairs, 0.15, 2)
    train, evaluation = split_by_chunk(_pairs(2, 2), 0.15, 1)
    assert len({p.positive_id for p in evaluation}) == 1 and len(train) == 2
    train, evaluation = split_by_chunk(_pairs(5, 2), 0.0, 1)
    assert evaluation == [] and len(train) == 10


def test_write_then_read_round_trip(tmp_path: Path) -> None:
    pairs = _pairs(3, 2)
    write_pairs(tmp_path / "p.jsonl", pairs)
    assert read_pairs(tmp_path / "p.jsonl") == pairs
    line = json.loads((tmp_path / "p.jsonl").read_text().splitlines()[0])
    assert set(line) == {"query", "positive_id", "positive", "doc", "kind", "generator", "model"}


def test_read_pairs_ignores_extra_keys(tmp_path: Path) -> None:
    row = {**_pairs(1, 1)[0].to_json(), "score": 0.9}
    (tmp_path / "p.jsonl").write_text(json.dumps(row) + "\n")
    assert read_pairs(tmp_path / "p.jsonl") == _pairs(1, 1)


@pytest.mark.parametrize(
    "content",
    [
        '{"query": "q?"}\n{"query": "r?"}\n',  # fields missing
        json.dumps({**_pairs(1, 1)[0].to_json(), "kind": "summary"}) + "\n{}\n",  # unknown kind
        json.dumps({**_pairs(1, 1)[0].to_json(), "query": 3}) + "\n",  # wrong type
        "not json\n" + json.dumps(_pairs(1, 1)[0].to_json()) + "\n",
    ],
)
def test_malformed_pairs_are_a_clear_error(tmp_path: Path, content: str) -> None:
    (tmp_path / "p.jsonl").write_text(content)
    with pytest.raises(InputError, match="malformed.*generate DOCS --force"):
        read_pairs(tmp_path / "p.jsonl")


def test_missing_pairs_file_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="edgembed generate DOCS"):
        read_pairs(tmp_path / "nope.jsonl")
