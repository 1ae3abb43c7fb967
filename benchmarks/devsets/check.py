"""Check dev sets the way edgembed will use them, and say how hard each one is.

    .venv/bin/python benchmarks/devsets/check.py                  # every set
    .venv/bin/python benchmarks/devsets/check.py perlfaq --no-model --chunk-words 500

For each set: chunk docs/ as `edgembed chunk` does (its defaults unless told otherwise),
resolve questions.jsonl onto the chunks (as `evaluate --questions` does), then NDCG@10 of BM25
and of the base model over the whole chunk corpus. A set where BM25 is near 1.0 or the base
model above ~0.9 is too easy.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from edgembed.config import ChunkConfig
from edgembed.corpus.build import load_corpus
from edgembed.evaluation.bm25 import BM25
from edgembed.evaluation.questions import load_real_questions
from edgembed.evaluation.retrieval import retrieval_metrics, top_k

HERE = Path(__file__).resolve().parent
BASE_MODEL = "bundled:all-MiniLM-L6-v2"


def _base_scores(questions: list[str], chunks: list[str]) -> object:
    from edgembed.models import load_sentence_transformer

    model = load_sentence_transformer(BASE_MODEL, "cpu")
    encode = {"batch_size": 32, "normalize_embeddings": True, "convert_to_numpy": True}
    return model.encode(questions, **encode) @ model.encode(chunks, **encode).T


def check(folder: Path, with_model: bool, chunk: dict[str, int]) -> dict[str, object]:
    """Chunk, resolve and score one set; the figures the report table shows."""
    config = ChunkConfig(docs=folder / "docs", **chunk)
    corpus = load_corpus(config)
    chunks, documents, skipped = corpus.chunks, corpus.documents, corpus.skipped
    lines = (folder / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    questions = load_real_questions(folder / "questions.jsonl", chunks)
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
        scores = _base_scores(texts, corpus)
        result["base_ndcg10"] = retrieval_metrics(top_k(scores, 10), relevant).ndcg_at_10
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="sets to check (default: every set)")
    parser.add_argument("--no-model", action="store_true", help="BM25 only, no base model")
    parser.add_argument("--chunk-words", type=int, default=ChunkConfig.chunk_words)
    parser.add_argument("--overlap-words", type=int, default=ChunkConfig.overlap_words)
    args = parser.parse_args(argv)
    names = args.names or sorted(p.parent.name for p in HERE.glob("*/questions.jsonl"))
    for name in names:
        chunk = {"chunk_words": args.chunk_words, "overlap_words": args.overlap_words}
        figures = check(HERE / name, not args.no_model, chunk)
        rounded = {k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()}
        print(json.dumps({"set": name, **rounded}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
