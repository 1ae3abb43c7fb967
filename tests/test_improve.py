"""`edgembed improve` end to end with the bundled MiniLM: people's marks teach it the team's
project codenames (the documents never use them), it promotes version 2; the same questions
marked with random passages train a candidate it refuses."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner, Result
from safetensors.torch import load_file

from edgembed.cli.main import cli
from edgembed.corpus import read_chunks
from edgembed.exporter import ExportResult
from edgembed.formats.feedback import Mark, insert_mark, open_feedback_db
from edgembed.formats.manifest import read_manifest
from edgembed.improve import split_marks
from edgembed.trainer.train.soup import WEIGHTS

pytestmark = pytest.mark.slow

# Codename -> (section title, what the project is). The handbook never names the codenames.
PROJECTS = {
    "Kestrel": (
        "Billing migration",
        "moves every invoice from the old ledger to the new "
        "billing system; the finance platform team runs the cut-over in March",
    ),
    "Osprey": (
        "Office move",
        "relocates the Berlin staff to the new building on the river; "
        "facilities books the movers and assigns desks floor by floor",
    ),
    "Heron": (
        "Laptop refresh",
        "replaces every laptop older than four years with a new model; "
        "the service desk ships them and wipes the old ones",
    ),
    "Plover": (
        "Single sign-on",
        "puts every internal tool behind one login with hardware keys; "
        "the identity team enrols each department in turn",
    ),
    "Avocet": (
        "Data retention",
        "deletes customer records seven years after the last contract "
        "ends; legal signs off each deletion batch",
    ),
    "Godwit": (
        "Warehouse robots",
        "brings picking robots to the Leeds warehouse; operations trains the night shift first",
    ),
    "Dunlin": (
        "Support chatbot",
        "answers first-line customer questions in the help centre; "
        "support leads review its answers every week",
    ),
    "Curlew": (
        "Carbon report",
        "measures the emissions of travel and data centres for the "
        "annual report; sustainability gathers the figures each quarter",
    ),
    "Merlin": (
        "Pricing update",
        "raises list prices for the enterprise plans in July; sales "
        "operations tells existing customers sixty days ahead",
    ),
    "Shrike": (
        "Backup overhaul",
        "moves nightly backups to immutable storage in a second "
        "region; the infrastructure team tests a restore every month",
    ),
}
FILLER = [
    ("Expenses", "Keep receipts for any expense over 25 euros and file them within a month."),
    ("Vacation", "Full-time employees accrue 25 vacation days a year, carried over until March."),
    ("Parking", "Staff parking is first come, first served; bicycles go in the basement."),
    ("Meetings", "Book rooms in the calendar; cancel a booking you no longer need."),
]
ASKED = ["What is {} about?", "Who runs {}?", "When does {} happen?", "Who do I ask about {}?",
         "Is {} on schedule?", "What will {} change for me?"]  # fmt: skip


def _file(title: str) -> str:
    return title.lower().replace(" ", "-") + ".md"


def _docs(root: Path) -> Path:
    """One page per project (and a few other pages), as a wiki export would give."""
    root.mkdir()
    for title, text in PROJECTS.values():
        topic = title.lower()
        body = (
            f"This project {text}. The {topic} work started last autumn and is tracked on "
            f"the {topic} board. Weekly {topic} updates go to the steering group on Mondays. "
            f"Budget questions about the {topic} go to its finance partner. Risks of the "
            f"{topic} are reviewed at the end of every month."
        )
        (root / _file(title)).write_text(f"# {title}\n\n{body}\n")
    for title, text in FILLER:
        (root / _file(title)).write_text(f"# {title}\n\n{text} {text}\n")
    return root


def _workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    docs = _docs(tmp_path / "docs")
    args = ["--workspace", str(ws), "--quiet", "generate", str(docs), "--chunk-words", "60"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return ws


def _answers(ws: Path) -> dict[str, str]:
    """Codename -> the chunk id of its project's section."""
    by_doc = {chunk.doc: chunk.id for chunk in read_chunks(ws / "chunks.jsonl")}
    return {name: by_doc[_file(title)] for name, (title, _text) in PROJECTS.items()}


def _mark_all(ws: Path, db_path: Path, sabotage: bool) -> None:
    """Four questions per codename marked first (trained on), two more last (held out)."""
    answers = _answers(ws)
    chunk_ids = [chunk.id for chunk in read_chunks(ws / "chunks.jsonl")]
    pick = random.Random(7)
    db = open_feedback_db(db_path)
    for questions in (ASKED[:4], ASKED[4:]):
        for name in PROJECTS:
            for asked in questions:
                answer = pick.choice(chunk_ids) if sabotage else answers[name]
                insert_mark(db, Mark(asked.format(name), True, answer))
    db.close()


def _questions(ws: Path, path: Path) -> Path:
    """Real questions with their true answers (as a team writes them down)."""
    rows = [
        {"question": f"Where can I read up on {name}?", "doc": _file(title)}
        for name, (title, _text) in PROJECTS.items()
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def _improve(ws: Path, db: Path, export: Path, questions: Path, *extra: str) -> Result:
    args = ["--workspace", str(ws), "improve", "--feedback", str(db), "--export", str(export)]
    args += ["--questions", str(questions), "--holdout", "0.33", "--epochs", "3"]
    args += ["--mark-weight", "8", "--device", "cpu", "--seed", "1", *extra]
    return CliRunner().invoke(cli, args)


def test_true_marks_promote_version_2(tmp_path: Path, minilm_export: ExportResult) -> None:
    ws = _workspace(tmp_path)
    db = tmp_path / "feedback.db"
    _mark_all(ws, db, sabotage=False)
    result = _improve(ws, db, minilm_export.out, _questions(ws, tmp_path / "q.jsonl"))
    assert result.exit_code == 0, result.output
    assert "PROMOTED" in result.output, result.output
    promoted = ws / "exports" / f"{minilm_export.manifest.name}-v2"
    manifest = read_manifest(promoted)
    assert manifest.version == 2 and manifest.name == minilm_export.manifest.name
    assert manifest.lineage["improved_from"] == f"{minilm_export.manifest.name}@v1"
    assert manifest.lineage["judgements"]["held-out marks"]["questions"] == 20
    recipe = manifest.lineage["recipe"]
    assert recipe["start"] == "service" and recipe["epochs"] == 3 and recipe["mark_weight"] == 8
    report = json.loads((ws / "reports" / "improve.json").read_text())
    assert report["trained_marks"] == 40 and report["held_out_marks"] == 20


def test_a_soup_is_the_average_of_the_trained_candidate_and_the_model_in_service(
    tmp_path: Path, minilm_export: ExportResult
) -> None:
    ws = _workspace(tmp_path)
    db = tmp_path / "feedback.db"
    _mark_all(ws, db, sabotage=False)
    questions = _questions(ws, tmp_path / "q.jsonl")
    # The same seed trains the same candidate twice (no time budget to thin the pairs by).
    for extra in ([], ["--soup", "0.5"]):
        result = _improve(ws, db, minilm_export.out, questions, "--max-minutes", "0", *extra)
        assert result.exit_code == 0 and "PROMOTED" in result.output, result.output
    name = minilm_export.manifest.name
    trained, souped = (read_manifest(ws / "exports" / f"{name}-v{v}").lineage for v in (2, 3))
    assert trained["recipe"]["soup"] == 1.0 and souped["recipe"]["soup"] == 0.5
    source = minilm_export.manifest.source_model
    after, soup, before = (
        load_file(Path(folder) / WEIGHTS)
        for folder in (trained["candidate"], souped["candidate"], source)
    )
    weights = [key for key, tensor in before.items() if tensor.is_floating_point()]
    for key in weights:
        torch.testing.assert_close(soup[key], (after[key] + before[key]) / 2)
    # Training moved weights by up to about 1e-3; the average was checked to within 1e-5.
    assert max(float((after[k] - before[k]).abs().max()) for k in weights) > 2e-4


def test_sabotaged_marks_are_refused(tmp_path: Path, minilm_export: ExportResult) -> None:
    ws = _workspace(tmp_path)
    db = tmp_path / "feedback.db"
    _mark_all(ws, db, sabotage=True)
    result = _improve(ws, db, minilm_export.out, _questions(ws, tmp_path / "q.jsonl"))
    assert result.exit_code == 0, result.output
    assert "KEPT the model in service" in result.output, result.output
    assert not list((ws / "exports").glob("*-v2"))


def test_the_newest_marks_are_held_out_whole() -> None:
    marks = [Mark(f"q{i % 5}", True, f"c{i}", id=i + 1) for i in range(10)]
    trained, held = split_marks(marks, 0.4)
    assert {m.query for m in held} == {"q3", "q4"} and len(held) == 4
    assert not {m.query for m in trained} & {m.query for m in held}


def test_hard_negatives_reach_the_candidates_recipe(tmp_path: Path) -> None:
    from edgembed.cli.improve import _config, improve

    db = tmp_path / "feedback.db"
    db.touch()
    for args, expected in (([], 0), (["--hard-negatives", "1"], 1)):
        context = improve.make_context("improve", ["--feedback", str(db), *args])
        assert _config(dict(context.params)).train.hard_negatives == expected
