"""Training on use: query logs and feedback become pairs, with what was dropped counted."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from edgembed.cli.main import cli
from edgembed.corpus import read_chunks
from edgembed.formats.feedback import Mark, insert_mark, open_feedback_db, read_marks
from edgembed.formats.querylog import read_query_log
from edgembed.models import load_sentence_transformer
from edgembed.trainer.train.marks import distinct_queries, label_queries
from edgembed.workspace import Workspace
from tests.trainer.conftest import QUESTIONS


def write_log(path: Path, texts: list[str]) -> Path:
    rows = [{"time": "2026-11-30T00:00:00Z", "text": t, "model": "m"} for t in texts]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def write_feedback(path: Path, rows: list[tuple[str, str | None, str | None, int]]) -> Path:
    with contextlib.closing(open_feedback_db(path)) as db:
        for query, chunk_id, passage, relevant in rows:
            insert_mark(db, Mark(query, bool(relevant), chunk_id, passage))
    return path


def test_a_query_log_gives_its_distinct_queries_in_order(tmp_path: Path) -> None:
    path = write_log(tmp_path / "q.jsonl", ["How many PTO days?", "how many pto days", "VPN?"])
    with path.open("a") as out:
        out.write('\n{"question": "a real-questions line"}\n')
    queries = distinct_queries(read_query_log(path))
    assert queries == ["How many PTO days?", "VPN?", "a real-questions line"]


def test_feedback_gives_positives_and_hard_negatives(
    workspace: Workspace, tiny_mean_model: Path, tmp_path: Path
) -> None:
    chunks = read_chunks(workspace.chunks)
    db = write_feedback(
        tmp_path / "fb.db",
        [
            ("can I keep leftover days", "c0", None, 1),
            ("can I keep leftover days", "c1", None, 0),
            ("per diem?", None, chunks[2].text, 1),  # by passage text
            ("unknown passage", "nope", None, 1),
            ("home desk money", "c6", None, 1),  # a person's mark, though c6 is held out
        ],
    )
    model = load_sentence_transformer(str(tiny_mean_model), "cpu")
    usage = label_queries([], read_marks(db), chunks, model, exclude=frozenset({"c6"}))
    assert [(p.query, p.positive_id, p.kind) for p in usage.pairs] == [
        ("can I keep leftover days", "c0", "feedback"),
        ("per diem?", "c2", "feedback"),
        ("home desk money", "c6", "feedback"),
    ]
    assert usage.negatives == {"can I keep leftover days": [chunks[1].text]}
    assert usage.dropped == {
        "feedback passage not in the corpus": 1,
        "already judged in feedback": 0,
    }


def test_logged_queries_are_kept_only_where_model_and_bm25_agree(
    workspace: Workspace, bundled_minilm: Path
) -> None:
    chunks = read_chunks(workspace.chunks)
    model = load_sentence_transformer(str(bundled_minilm), "cpu")
    easy = [chunk.text.split("\n")[1] for chunk in chunks]  # each passage's own sentence
    usage = label_queries([*easy, *QUESTIONS], [], chunks, model)
    labelled = {p.query: p.positive_id for p in usage.pairs}
    assert all(labelled.get(text) == chunk.id for text, chunk in zip(easy, chunks, strict=True))
    assert usage.queries == len(easy) + len(QUESTIONS)
    assert len(usage.pairs) + sum(usage.dropped.values()) == usage.queries
    assert {p.kind for p in usage.pairs} == {"logged"}


@pytest.mark.slow
def test_train_with_queries_and_feedback_reports_what_it_kept(
    workspace: Workspace, bundled_minilm: Path, tmp_path: Path
) -> None:
    log = write_log(tmp_path / "q.jsonl", QUESTIONS[:6])
    db = write_feedback(
        tmp_path / "fb.db", [(QUESTIONS[0], "c0", None, 1), (QUESTIONS[0], "c3", None, 0)]
    )
    args = ["--workspace", str(workspace.root), "train", "--base-model", str(bundled_minilm)]
    result = CliRunner().invoke(
        cli,
        [
            *args,
            "--queries",
            str(log),
            "--feedback",
            str(db),
            "--device",
            "cpu",
            "--batch-size",
            "4",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "real queries: kept" in result.output and "1 hard negatives" in result.output
    metrics = json.loads(
        (workspace.models / "edgembed-model" / "edgembed_training.json").read_text()
    )
    usage = metrics["usage"]
    assert usage["logged_queries"] == 6 and usage["feedback_positives"] == 1
    assert usage["dropped"]["already judged in feedback"] == 1
    assert metrics["data"]["train_pairs"] == 12 + usage["logged_kept"] + 1


def test_train_with_a_missing_log_fails_cleanly(workspace: Workspace, tmp_path: Path) -> None:
    args = ["--workspace", str(workspace.root), "train", "--queries", str(tmp_path / "none.jsonl")]
    result = CliRunner().invoke(cli, [*args, "--device", "cpu"])
    assert result.exit_code == 1 and "not found" in result.output
    assert not (workspace.models / "edgembed-model").exists()
