"""Does training on logged real queries beat training on synthetic pairs alone?

The protocol of the learn-from-use issue, per real-question set and seed: split the questions
in two halves by question (seeded); hand half A to `train --queries` as an unlabeled query log
(the format `serve --log-queries` writes); evaluate on half B both the model trained with the
log and the model trained on synthetic pairs only (the quality benchmark's model of the same
set and seed, so run benchmarks/quality.py first with the same --work and --label):

    edgembed --workspace W2 generate DOCS --seed S --force
    edgembed --workspace W2 train --seed S --force --queries halfA.jsonl
    edgembed --workspace W2 evaluate --questions halfB.jsonl --model W2/models/edgembed-model
    edgembed --workspace W  evaluate --questions halfB.jsonl            # synthetic only

    .venv/bin/python benchmarks/learn_from_use.py --sets sample,perlfaq --seeds 1 --label default

`--labelled` hands half A over as feedback instead (`train --feedback`, each question with the
passage that really answers it, as people marking results would give): the ceiling of what
learning from use can bring, and of what question-like training pairs can teach a corpus.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.quality import _edgembed, question_sets  # noqa: E402
from edgembed.corpus import read_chunks  # noqa: E402
from edgembed.evaluation.bootstrap import paired_bootstrap  # noqa: E402
from edgembed.evaluation.questions import load_real_questions  # noqa: E402
from edgembed.formats.feedback import Mark, insert_mark, open_feedback_db  # noqa: E402
from edgembed.formats.querylog import append_queries  # noqa: E402


def split_questions(path: Path, out: Path) -> tuple[Path, Path]:
    """Half A as a query log, half B as a real-questions file: the same halves for every seed,
    so each held-out question's change can be averaged over the seeds."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    order = list(range(len(rows)))
    random.Random("halves").shuffle(order)
    half = set(order[: len(rows) // 2])
    out.mkdir(parents=True, exist_ok=True)
    log, test = out / "log.jsonl", out / "heldout.jsonl"
    log.unlink(missing_ok=True)
    append_queries(log, [r["question"] for i, r in enumerate(rows) if i in half], "m", 1 << 40)
    test.write_text("".join(json.dumps(r) + "\n" for i, r in enumerate(rows) if i not in half))
    return log, test


def feedback_db(log: Path, questions: Path, workspace: Path) -> Path:
    """Half A as a feedback database: each question with the passage holding its evidence,
    marked as answering (questions answered by a whole document, or by more than two passages,
    are left out: a person would not mark those)."""
    chunks = read_chunks(workspace / "chunks.jsonl")
    asked = {json.loads(line)["text"] for line in log.read_text().splitlines() if line.strip()}
    rows = [json.loads(line) for line in questions.read_text().splitlines() if line.strip()]
    path = log.parent / "feedback.sqlite"
    path.unlink(missing_ok=True)
    with contextlib.closing(open_feedback_db(path)) as db:
        for row, question in zip(rows, load_real_questions(questions, chunks), strict=True):
            specific = any(row.get(k) for k in ("evidence", "section", "chunk_id", "chunk_ids"))
            if row["question"] in asked and specific and len(question.relevant) <= 2:
                for index in sorted(question.relevant):
                    insert_mark(db, Mark(row["question"], True, chunks[index].id))
    return path


def _real(workspace: Path) -> dict[str, Any]:
    report = json.loads((workspace / "reports" / "evaluate.json").read_text())
    real: dict[str, Any] = report["query_sets"]["real questions"]
    return real


def run_once(name: str, seed: int, work: Path, label: str, labelled: bool) -> dict[str, Any]:
    qs = question_sets()[name]
    synthetic_ws = work / label / name / f"seed{seed}"
    if not (synthetic_ws / "models" / "edgembed-model").exists():
        raise SystemExit(f"{synthetic_ws} has no model: run benchmarks/quality.py first")
    used_ws = work / f"{label}-{'feedback' if labelled else 'usage'}" / name / f"seed{seed}"
    log, test = split_questions(qs.questions, used_ws / "halves")
    _edgembed(used_ws, "generate", str(qs.docs), "--seed", str(seed), "--force")
    use = ["--queries", str(log)]
    if labelled:
        use = ["--feedback", str(feedback_db(log, qs.questions, used_ws))]
    _edgembed(used_ws, "train", "--seed", str(seed), "--force", *use)
    training = json.loads(
        (used_ws / "models" / "edgembed-model" / "edgembed_training.json").read_text()
    )
    evaluate = ["evaluate", "--questions", str(test), "--allow-worse", "--samples", "0"]
    synthetic_model = str(synthetic_ws / "models" / "edgembed-model")
    _edgembed(used_ws, *evaluate, "--model", synthetic_model)
    alone = _real(used_ws)
    _edgembed(used_ws, *evaluate, "--model", str(used_ws / "models" / "edgembed-model"))
    with_log = _real(used_ws)
    return {
        "set": name,
        "seed": seed,
        "usage": training.get("usage"),
        "with_log": with_log["metrics"]["fine-tuned"]["ndcg_at_10"],
        "synthetic_only": alone["metrics"]["fine-tuned"]["ndcg_at_10"],
        "base": max(alone["metrics"][s]["ndcg_at_10"] for s in ("base", "base as shipped")),
        "per_query_with_log": with_log["per_query_ndcg_at_10"]["fine-tuned"],
        "per_query_alone": alone["per_query_ndcg_at_10"]["fine-tuned"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sets", default="all")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--work", type=Path, default=Path("/tmp/edgembed-quality"))
    parser.add_argument("--label", default="default")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument(
        "--labelled", action="store_true", help="half A as feedback with its true answers"
    )
    args = parser.parse_args()
    names = list(question_sets()) if args.sets == "all" else args.sets.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]
    args.out.mkdir(parents=True, exist_ok=True)
    print("set | held-out questions | base | synthetic only | with log | change (95% CI) | kept")
    for name in names:
        runs = [run_once(name, seed, args.work, args.label, args.labelled) for seed in seeds]
        with (args.out / "learn_from_use.jsonl").open("a") as out:
            for run in runs:
                out.write(json.dumps({k: v for k, v in run.items() if "per_query" not in k}) + "\n")
        after = np.mean([r["per_query_with_log"] for r in runs], axis=0)
        before = np.mean([r["per_query_alone"] for r in runs], axis=0)
        low, high = paired_bootstrap(before, after)
        kept = " ".join(
            f"{r['usage']['feedback_positives']}"
            if args.labelled
            else f"{r['usage']['logged_kept']}/{r['usage']['logged_queries']}"
            for r in runs
        )
        mean = {
            k: float(np.mean([r[k] for r in runs])) for k in ("base", "synthetic_only", "with_log")
        }
        print(
            f"{name} | {len(after)} | {mean['base']:.3f} | {mean['synthetic_only']:.3f} | "
            f"{mean['with_log']:.3f} | {mean['with_log'] - mean['synthetic_only']:+.3f} "
            f"({low:+.3f}, {high:+.3f}) | {kept}",
            flush=True,
        )


if __name__ == "__main__":
    main()
