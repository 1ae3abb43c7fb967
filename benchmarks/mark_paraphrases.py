"""Marks with reworded copies: an LLM asks each marked question again in other words.

A lever for `benchmarks/marks_curve.py --paraphrases N`: each positive mark gains up to N
marks of the same passage whose query is the LLM's rewording of the marked question (the
bundled SmolLM2-135M-Instruct unless --gguf says otherwise). Rewordings are cached in
OUT/paraphrases.jsonl by question, so seeds and recipes reuse them.

    .venv/bin/python benchmarks/mark_paraphrases.py "How do I undo a change?" --count 3
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edgembed.atomic import read_jsonl  # noqa: E402
from edgembed.corpus.sentences import normalize_query  # noqa: E402
from edgembed.formats.feedback import Mark  # noqa: E402
from edgembed.trainer.generate.base import AnswerShape  # noqa: E402
from edgembed.trainer.generate.llamacpp import LlamaCppBackend  # noqa: E402

SYSTEM = "You reword questions. Answer in JSON."
PROMPT = (
    "Write {count} different questions a user might type to ask exactly this, in other words "
    "(other verbs and nouns, same meaning, each a full question):\n\n{question}"
)


def reword(backend: LlamaCppBackend, question: str, count: int) -> list[str]:
    """Up to `count` rewordings of `question`: questions of three words or more, neither the
    question itself nor a repeat once case and punctuation are ignored."""
    raw = backend.chat(SYSTEM, PROMPT.format(count=count, question=question),
                       AnswerShape("questions", count))  # fmt: skip
    try:
        items = json.loads(raw).get("questions", [])
    except (json.JSONDecodeError, AttributeError):
        return []
    seen = {normalize_query(question)}
    out = []
    for item in items:
        text = str(item).strip()
        if len(text.split()) >= 3 and text.endswith("?") and normalize_query(text) not in seen:
            seen.add(normalize_query(text))
            out.append(text)
    return out[:count]


def with_paraphrases(
    marks: list[Mark], count: int, cache: Path, gguf: Path | None = None
) -> list[Mark]:
    """`marks` and, after each positive one, its rewordings as marks of the same passage
    (ids renumbered in that order)."""
    rows = read_jsonl(cache) if cache.exists() else iter(())
    known: dict[str, list[str]] = {row["question"]: row["rewordings"] for row in rows}
    backend = LlamaCppBackend(gguf, temperature=0.7, seed=7)
    out: list[Mark] = []
    for mark in marks:
        out.append(replace(mark, id=len(out) + 1))
        if not mark.relevant:
            continue
        if mark.query not in known:
            known[mark.query] = reword(backend, mark.query, count)
            with cache.open("a") as handle:
                row = {"question": mark.query, "rewordings": known[mark.query]}
                handle.write(json.dumps(row) + "\n")
        for text in known[mark.query][:count]:
            out.append(Mark(text, True, mark.chunk_id, id=len(out) + 1))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("question")
    parser.add_argument("--count", type=int, default=3)
    parser.add_argument("--gguf", type=Path)
    args = parser.parse_args()
    for text in reword(LlamaCppBackend(args.gguf), args.question, args.count):
        print(text)


if __name__ == "__main__":
    main()
