"""Check dev sets the way edgembed will use them, and say how hard each one is.

    .venv/bin/python benchmarks/devsets/check.py                  # every set
    .venv/bin/python benchmarks/devsets/check.py perlfaq --no-model --chunk-words 500

For each set: chunk docs/ as `edgembed chunk` does (its defaults unless told otherwise),
resolve questions.jsonl onto the chunks (as `evaluate --questions` does), then NDCG@10 of BM25
and of the base model over the whole chunk corpus. A set where BM25 is near 1.0 or the base
model above ~0.9 is too easy. With the model it also counts the chunks longer than the model's
window and the questions whose evidence starts past the window in every passage that holds it
(the model never reads their answer). `sample` names the sample corpus (sample_docs/).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from edgembed.config import ChunkConfig
from edgembed.corpus.build import load_corpus
from edgembed.evaluation.bm25 import BM25
from edgembed.evaluation.questions import load_real_questions, normalize_text
from edgembed.evaluation.retrieval import retrieval_metrics, top_k

HERE = Path(__file__).resolve().parent
SAMPLE = HERE.parents[1] / "sample_docs"
BASE_MODEL = "bundled:all-MiniLM-L6-v2"


def _paths(name: str) -> tuple[Path, Path]:
    """A set's documents folder and its questions file."""
    if name == "sample":
        return SAMPLE, SAMPLE / "questions.jsonl"
    return HERE / name / "docs", HERE / name / "questions.jsonl"


def _past_window(tokens: Any, evidence: str, chunk: str, window: int) -> bool | None:
    """Whether `evidence` starts past the first `window` tokens of `chunk` (None: not in it),
    matched as `load_real_questions` matches it."""
    body = normalize_text(chunk)
    at = body.find(normalize_text(evidence))
    return None if at < 0 else tokens(body[:at]) >= window


def _base_model(
    texts: list[str], corpus: list[str], evidence: list[tuple[str, set[int]]]
) -> dict[str, Any]:
    """The base model's scores, its chunks longer than its window, and the questions whose
    evidence starts past the window in every chunk that holds it."""
    from edgembed.models import load_sentence_transformer

    model = load_sentence_transformer(BASE_MODEL, "cpu")
    encode: dict[str, Any] = {
        "batch_size": 32,
        "normalize_embeddings": True,
        "convert_to_numpy": True,
    }
    window = int(model.max_seq_length or 256) - 2  # [CLS] and [SEP]

    def tokens(text: str) -> int:
        return len(model.tokenizer(text, add_special_tokens=False)["input_ids"])

    past = 0
    for text, relevant in evidence:
        where = [_past_window(tokens, text, corpus[i], window) for i in sorted(relevant)]
        found = [past_it for past_it in where if past_it is not None]
        past += bool(found) and all(found)
    return {
        "scores": model.encode(texts, **encode) @ model.encode(corpus, **encode).T,
        "over_window": sum(tokens(chunk) > window for chunk in corpus),
        "answers_past_window": past,
    }


def check(name: str, with_model: bool, chunk: dict[str, int]) -> dict[str, object]:
    """Chunk, resolve and score one set; the figures the report table shows."""
    docs, questions_file = _paths(name)
    loaded = load_corpus(ChunkConfig(docs=docs, **chunk))
    chunks, documents, skipped = loaded.chunks, loaded.documents, loaded.skipped
    lines = questions_file.read_text(encoding="utf-8").splitlines()
    questions = load_real_questions(questions_file, chunks)
    relevant = [set(q.relevant) for q in questions]
    texts = [q.question for q in questions]
    corpus = [chunk.text for chunk in chunks]
    result: dict[str, object] = {
        "documents": documents,
        "skipped": len(skipped),
        "chunks": len(chunks),
        "questions": len(lines),
        "resolved": len(questions),
        "relevant_chunks_median": statistics.median(len(r) for r in relevant),
        "relevant_chunks_max": max(len(r) for r in relevant),
        "median_question_words": statistics.median(len(t.split()) for t in texts),
        "bm25_ndcg10": retrieval_metrics(
            top_k(BM25(corpus).scores(texts), 10), relevant
        ).ndcg_at_10,
    }
    if with_model:
        rows = [json.loads(line) for line in lines if line.strip()]
        # load_real_questions keeps the file's order; where it dropped a row, rows and
        # questions no longer pair up and the answers past the window are not counted
        paired = len(rows) == len(questions)
        evidence = [
            (row["evidence"], set(q.relevant))
            for row, q in zip(rows, questions, strict=False)
            if paired and row.get("evidence")
        ]
        model = _base_model(texts, corpus, evidence)
        result["base_ndcg10"] = retrieval_metrics(top_k(model["scores"], 10), relevant).ndcg_at_10
        result["over_window"] = model["over_window"]
        result["answers_past_window"] = model["answers_past_window"] if paired else None
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "names", nargs="*", help="sets to check, `sample` for sample_docs/ (default: every set)"
    )
    parser.add_argument("--no-model", action="store_true", help="BM25 only, no base model")
    parser.add_argument("--chunk-words", type=int, default=ChunkConfig.chunk_words)
    parser.add_argument("--overlap-words", type=int, default=ChunkConfig.overlap_words)
    args = parser.parse_args(argv)
    names = args.names or sorted(p.parent.name for p in HERE.glob("*/questions.jsonl"))
    for name in names:
        chunk = {"chunk_words": args.chunk_words, "overlap_words": args.overlap_words}
        figures = check(name, not args.no_model, chunk)
        rounded = {k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()}
        print(json.dumps({"set": name, **rounded}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
