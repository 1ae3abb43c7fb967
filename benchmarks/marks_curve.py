"""How many marks does it take? Held-out NDCG@10 against the number of marks people gave.

For each set, its real questions are cut in two halves, the same for every seed: the pool
(questions people might mark) and the held-out half (never marked). The model in service is the
set's synthetic-only model of a quality run (`benchmarks/quality.py --work WORK --label LABEL`).
For N marks (25, 50, 100, 200, the whole pool), taken at random or least-sure first (what the
playground offers: `edgembed.evaluation.uncertainty`), each pool question becomes a mark of the
passage that answers it, and a candidate is trained as `edgembed improve` trains it
(`train_model` with the marks, from the model in service); both are scored on the held-out half,
and so is their soup (`improve --soup 0.5`: the two averaged weight by weight; shares 0.25 and
0.75 are recorded beside it under `soups`). Every run's
figures go to OUT/marks_curve.jsonl; the summary is the change against the model in service
(synthetic only), mean of the seeds, with a 95% interval (paired bootstrap over the held-out
questions, each question's change averaged over the seeds).
With --paraphrases N each positive mark also trains as up to N rewordings of its question by
the bundled SmolLM2 (`benchmarks/mark_paraphrases.py`; cached in OUT/paraphrases.jsonl).

    .venv/bin/python benchmarks/marks_curve.py --quality /tmp/q9/wave9 --sets editorfaq \\
        --seeds 1 --marks 100,200 --recipe "--mark-weight 4 --replay 0.25"
"""

from __future__ import annotations

import argparse
import json
import random
import shlex
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.quality import question_sets  # noqa: E402
from edgembed.config import TrainConfig  # noqa: E402
from edgembed.corpus import Chunk, read_chunks  # noqa: E402
from edgembed.evaluation.bootstrap import paired_bootstrap  # noqa: E402
from edgembed.evaluation.questions import load_real_questions  # noqa: E402
from edgembed.evaluation.retrieval import ndcg_per_query, top_k  # noqa: E402
from edgembed.evaluation.uncertainty import least_sure_first  # noqa: E402
from edgembed.formats.feedback import Mark  # noqa: E402
from edgembed.models import Prompts, describe_model, encode, load_sentence_transformer  # noqa: E402
from edgembed.trainer.train.soup import average_into  # noqa: E402
from edgembed.workspace import Workspace  # noqa: E402

SERVICE = "edgembed-model"


def halves(questions: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(pool, held out): the same halves for every seed and every recipe."""
    rows = [json.loads(line) for line in questions.read_text().splitlines() if line.strip()]
    order = list(range(len(rows)))
    random.Random("halves").shuffle(order)
    pool = set(order[: len(rows) // 2])
    return [r for i, r in enumerate(rows) if i in pool], [
        r for i, r in enumerate(rows) if i not in pool
    ]


def _write(rows: list[dict[str, Any]], path: Path) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def _vectors(model_dir: Path, chunks: list[Chunk], queries: list[str]) -> tuple[Any, Any]:
    model = load_sentence_transformer(model_dir, "cpu")
    prompts = Prompts.of(describe_model(model_dir))
    corpus = encode(model, [c.text for c in chunks], prompts.document)
    return encode(model, queries, prompts.query), corpus


def heldout_ndcg(model_dir: Path, chunks: list[Chunk], heldout: Path) -> np.ndarray[Any, Any]:
    """Each held-out question's NDCG@10 by the model, over every chunk."""
    real = load_real_questions(heldout, chunks)
    queries, corpus = _vectors(model_dir, chunks, [q.question for q in real])
    return ndcg_per_query(top_k(queries @ corpus.T, 10), [set(q.relevant) for q in real])


def marks_for(pool: Path, chunks: list[Chunk], order: list[int], count: int) -> list[Mark]:
    """The first `count` pool questions in `order`, each marked as answered by its passage
    (questions answered by a whole document or by more than two passages are left out: a
    person would not mark those)."""
    real = load_real_questions(pool, chunks)
    rows = [json.loads(line) for line in pool.read_text().splitlines() if line.strip()]
    marks: list[Mark] = []
    for index in order[:count]:
        row, question = rows[index], real[index]
        specific = any(row.get(k) for k in ("evidence", "section", "chunk_id", "chunk_ids"))
        if specific and len(question.relevant) <= 2:
            for chunk in sorted(question.relevant):
                marks.append(Mark(row["question"], True, chunks[chunk].id, id=len(marks) + 1))
    return marks


def pool_order(
    strategy: str, service: Path, chunks: list[Chunk], pool: Path, seed: int
) -> list[int]:
    """The pool's questions in the order they get marked: at random, or least sure first."""
    count = len(load_real_questions(pool, chunks))
    if strategy == "random":
        order = list(range(count))
        random.Random(f"marks:{seed}").shuffle(order)
        return order
    questions = [q.question for q in load_real_questions(pool, chunks)]
    queries, corpus = _vectors(service, chunks, questions)
    return least_sure_first(queries @ corpus.T)


SOUP_SHARES = (0.5, 0.25, 0.75)
"""The candidate's share in the soups scored: 0.5 is the one reported (chosen before the
runs); the others show how the verdict moves with the share, and picking the best of them on
the held-out half would flatter it."""


def run_once(
    workspace: Path, chunks: list[Chunk], marks: list[Mark], recipe: TrainConfig, heldout: Path
) -> tuple[np.ndarray[Any, Any], dict[float, np.ndarray[Any, Any]]]:
    """Train a candidate from the model in service on the pairs and `marks`; the held-out
    NDCG@10 per question of the candidate and of its soups with the model in service (see
    `soup`), by share. The models are deleted after."""
    from edgembed.trainer.train import train_model

    result = train_model(recipe, Workspace(workspace), marks=marks)
    souped = result.model_dir.with_name(result.model_dir.name + "-soup")
    try:
        after = heldout_ndcg(result.model_dir, chunks, heldout)
        soups = {}
        for share in SOUP_SHARES:
            shutil.rmtree(souped, ignore_errors=True)
            soup(workspace / "models" / SERVICE, result.model_dir, souped, share)
            soups[share] = heldout_ndcg(souped, chunks, heldout)
        return after, soups
    finally:
        shutil.rmtree(result.model_dir, ignore_errors=True)
        shutil.rmtree(souped, ignore_errors=True)


def soup(service: Path, candidate: Path, out: Path, share: float = 0.5) -> None:
    """The candidate's folder with its weights averaged with the service's (`improve --soup`)."""
    shutil.copytree(candidate, out, dirs_exist_ok=True)
    average_into(out, service, share)


def recipe_config(recipe: str, service: Path, seed: int) -> TrainConfig:
    """The improve recipe from its command-line form (--epochs, --lr, --mark-weight,
    --replay, --finetuned-weight, --hard-negatives, --start base; and --batch-size, --loss,
    which improve does not offer)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--lr", type=float, default=TrainConfig().learning_rate)
    parser.add_argument("--mark-weight", type=int, default=4)
    parser.add_argument("--replay", type=float, default=1.0)
    parser.add_argument("--finetuned-weight", type=float, default=TrainConfig().finetuned_weight)
    parser.add_argument("--start", choices=["service", "base"], default="service")
    parser.add_argument("--hard-negatives", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=TrainConfig().batch_size)
    parser.add_argument("--loss", default=TrainConfig().loss)
    args = parser.parse_args(shlex.split(recipe))
    base = str(service) if args.start == "service" else TrainConfig().base_model
    return TrainConfig(
        base_model=base, name="curve-candidate", epochs=args.epochs, learning_rate=args.lr,
        mark_weight=args.mark_weight, replay=args.replay, finetuned_weight=args.finetuned_weight,
        hard_negatives=args.hard_negatives, batch_size=args.batch_size, loss=args.loss,
        max_minutes=0, seed=seed, device="cpu", force=True,
    )  # fmt: skip


def summarize(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (set, strategy, marks): mean change over the seeds and its 95% interval."""
    groups: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for run in runs:
        groups.setdefault((run["set"], run["strategy"], run["marks"]), []).append(run)
    out = []
    for (name, strategy, count), group in sorted(groups.items()):
        before = np.mean([r["service_per_query"] for r in group], axis=0)
        after = np.mean([r["candidate_per_query"] for r in group], axis=0)
        out.append({
            "set": name, "strategy": strategy, "marks": count,
            "marked": float(np.mean([r["marked"] for r in group])),
            "seeds": [r["seed"] for r in group],
            "service": float(before.mean()), "candidate": float(after.mean()),
            "delta": float(after.mean() - before.mean()),
            "delta_ci95": paired_bootstrap(before, after),
            "delta_per_seed": [r["candidate"] - r["service"] for r in group],
        })  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quality", type=Path, required=True, help="a quality run's WORK/LABEL")
    parser.add_argument("--sets", default="editorfaq,cvsfaq,perlfaq")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--marks", default="25,50,100,200,all")
    parser.add_argument("--strategies", default="random,least-sure")
    parser.add_argument("--recipe", default="", help="improve's training options")
    parser.add_argument("--label", default="default")
    parser.add_argument(
        "--paraphrases", type=int, default=0,
        help="each mark's question also asked in N rewordings by the bundled SmolLM2",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    sets = question_sets()
    runs = []
    for name in args.sets.split(","):
        for seed in map(int, args.seeds.split(",")):
            runs += _one_set_seed(args, sets[name].questions, name, seed)
    summary = summarize(runs)
    with (args.out / "marks_curve_summaries.jsonl").open("a") as out:
        for row in summary:
            out.write(json.dumps({"label": args.label, "recipe": args.recipe, **row}) + "\n")
    print("set | strategy | marks | marked | service | candidate | change (95% CI) | per seed")
    for s in summary:
        low, high = s["delta_ci95"]
        seeds = " ".join(f"{d:+.3f}" for d in s["delta_per_seed"])
        print(
            f"{s['set']} | {s['strategy']} | {s['marks']} | {s['marked']:.0f} | "
            f"{s['service']:.3f} | {s['candidate']:.3f} | {s['delta']:+.3f} "
            f"({low:+.3f}, {high:+.3f}) | {seeds}"
        )


def _one_set_seed(args: Any, questions: Path, name: str, seed: int) -> list[dict[str, Any]]:
    workspace = args.quality / name / f"seed{seed}"
    service = workspace / "models" / SERVICE
    chunks = read_chunks(workspace / "chunks.jsonl")
    pool_rows, held_rows = halves(questions)
    scratch = args.out / "curve-halves" / name
    scratch.mkdir(parents=True, exist_ok=True)
    pool, heldout = (
        _write(pool_rows, scratch / "pool.jsonl"),
        _write(held_rows, scratch / "heldout.jsonl"),
    )
    service_ndcg = heldout_ndcg(service, chunks, heldout)
    runs = []
    done: set[tuple[int, ...]] = set()
    for strategy in args.strategies.split(","):
        order = pool_order(strategy, service, chunks, pool, seed)
        for count_text in args.marks.split(","):
            count = len(order) if count_text == "all" else int(count_text)
            chosen = tuple(sorted(order[:count]))
            if count > len(order) or (count_text == "all" and chosen in done):
                continue
            done.add(chosen)
            marks = marks_for(pool, chunks, order, count)
            marked = len({m.query for m in marks})
            if args.paraphrases:
                from benchmarks.mark_paraphrases import with_paraphrases

                marks = with_paraphrases(marks, args.paraphrases, args.out / "paraphrases.jsonl")
            started = time.perf_counter()
            recipe = recipe_config(args.recipe, service, seed)
            after, soups = run_once(workspace, chunks, marks, recipe, heldout)
            souped = soups[SOUP_SHARES[0]]
            run = {
                "label": args.label, "recipe": args.recipe, "set": name, "seed": seed,
                "strategy": strategy, "marks": count_text,
                "marked": marked, "paraphrases": args.paraphrases,
                "service": float(service_ndcg.mean()), "candidate": float(after.mean()),
                "service_per_query": service_ndcg.tolist(), "candidate_per_query": after.tolist(),
                "soup": float(souped.mean()), "soup_per_query": souped.tolist(),
                "soups": {str(k): float(v.mean()) for k, v in soups.items()},
                "soups_per_query": {str(k): v.tolist() for k, v in soups.items()},
                "seconds": round(time.perf_counter() - started, 1),
            }  # fmt: skip
            with (args.out / "marks_curve.jsonl").open("a") as out:
                out.write(json.dumps(run) + "\n")
            print(
                f"{name} seed {seed} {strategy} {count_text}: {run['service']:.3f} -> "
                f"{run['candidate']:.3f} ({run['candidate'] - run['service']:+.3f}; soup "
                f"{run['soup'] - run['service']:+.3f}) in "
                f"{run['seconds']} s",
                flush=True,
            )
            runs.append(run)
    return runs


if __name__ == "__main__":
    main()
