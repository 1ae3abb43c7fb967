"""Does a trained reranker reward the question's words? Each real question's answer passage is
scored whole, without its body sentence that shares the most words with the question (split
and taken out as `generate`'s inverse cloze does), and with the question appended. A sane
reranker scores the passage lower without that sentence; one that learned the inverse-cloze
artefact (answers always lack their query's sentence) scores it higher.

    .venv/bin/python benchmarks/reranker_probe.py WORKSPACE QUESTIONS [--reranker DIR]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edgembed.corpus import read_chunks  # noqa: E402
from edgembed.corpus.sentences import body_sentences, strip_sentences  # noqa: E402
from edgembed.evaluation.questions import load_real_questions  # noqa: E402

_WORD = re.compile(r"\w+")


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("workspace", type=Path)
    parser.add_argument("questions", type=Path)
    parser.add_argument(
        "--reranker", type=Path, help="default: WORKSPACE/models/edgembed-model-reranker"
    )
    parser.add_argument("--limit", type=int, default=80)
    args = parser.parse_args()
    from sentence_transformers import CrossEncoder

    chunks = read_chunks(args.workspace / "chunks.jsonl")
    real = load_real_questions(args.questions, chunks)
    folder = args.reranker or args.workspace / "models" / "edgembed-model-reranker"
    model = CrossEncoder(str(folder), local_files_only=True)
    whole, cut, plus = [], [], []
    for question in real[: args.limit]:
        chunk = chunks[min(question.relevant)]
        sentences = [s for line in body_sentences(chunk.body.split("\n")) for s in line]
        if len(sentences) < 2:
            continue
        asked = _words(question.question)
        nearest = max(sentences, key=lambda sentence: len(_words(sentence) & asked))
        whole.append((question.question, chunk.text))
        cut.append((question.question, strip_sentences(chunk, nearest.__eq__)))
        plus.append((question.question, f"{chunk.text} {question.question}"))
    w, c, p = (np.asarray(model.predict(pairs, batch_size=16)) for pairs in (whole, cut, plus))
    print(
        f"{len(w)} questions: whole {w.mean():.3f}; without the sentence nearest the question "
        f"{c.mean():.3f} (higher for {np.mean(c > w):.0%}); question appended {p.mean():.3f} "
        f"(higher for {np.mean(p > w):.0%})"
    )


if __name__ == "__main__":
    main()
