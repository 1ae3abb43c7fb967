"""Does an export's int8 give a text the same vector whatever shares its call? And how close
is it to fp32 on short inputs, questions and passages? (#18)

For each export folder: a query embedded alone against the same query beside other texts in
one call (cosine; per-call activation scales moved it to 0.988-0.995), every sample question
alone against all of them batched 32 at a time, and the mean cosine of int8 to fp32 over the
parity set's short inputs, the built-in texts and, with --questions, real questions.

    .venv/bin/python benchmarks/int8_invariance.py WORKSPACE/exports/NAME [more exports...] \
        --questions sample_docs/questions.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edgembed.evaluation.texts import BUILTIN_TEXTS, SHORT_TEXTS  # noqa: E402
from edgembed.runtime import OnnxEmbedder  # noqa: E402

QUERY = "How many PTO days carry over?"
BESIDE = {
    "one 5-word text": ["Where is the parking lot?"],
    "one 1-word text": ["ok"],
    "31 1-word texts": ["ok"] * 31,
    "31 questions": ["Can I carry over unused sick days to next year?"] * 31,
}


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray((a * b).sum(axis=1), dtype=np.float64)  # both L2-normalised


def measure(export: Path, questions: list[str]) -> dict[str, object]:
    int8 = OnnxEmbedder(export, variant="int8")
    fp32 = OnnxEmbedder(export, variant="fp32")
    alone = int8.embed([QUERY])
    beside = {
        label: float(_cosine(alone, int8.embed([QUERY, *others], batch_size=64)[:1])[0])
        for label, others in BESIDE.items()
    }
    texts = questions or list(BUILTIN_TEXTS)
    singles = np.concatenate([int8.embed([text]) for text in texts])
    sets = {"short": list(SHORT_TEXTS), "built-in": list(BUILTIN_TEXTS), "questions": questions}
    to_fp32 = {
        name: float(_cosine(int8.embed(items), fp32.embed(items)).mean())
        for name, items in sets.items()
        if items
    }
    quantization = int8.manifest.model_file("int8").quantization or {}
    return {
        "export": str(export),
        "method": quantization.get("method"),
        "recipe": quantization.get("recipe"),
        "query_beside_others": beside,
        "alone_vs_batched_min": float(_cosine(singles, int8.embed(texts, batch_size=32)).min()),
        "mean_cosine_to_fp32": to_fp32,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("exports", nargs="+", type=Path)
    parser.add_argument("--questions", type=Path, default=None)
    args = parser.parse_args()
    questions = []
    if args.questions:
        lines = args.questions.read_text(encoding="utf-8").splitlines()
        questions = [json.loads(line)["question"] for line in lines if line.strip()]
    for export in args.exports:
        print(json.dumps(measure(export, questions), indent=1))


if __name__ == "__main__":
    main()
