"""Ask a running `edgembed serve` one question, as a RAG backend would, with the openai SDK.

Embeds the workspace's passages and the question through the server, then prints the
passages closest to the question.

    python scripts/ask.py "how many vacation days can I carry over?" \
        --url http://127.0.0.1:8001/v1 --workspace workspace
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from openai import OpenAI


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("question")
    parser.add_argument("--url", default="http://127.0.0.1:8001/v1")
    parser.add_argument("--workspace", type=Path, default=Path("workspace"))
    parser.add_argument("--top", type=int, default=3)
    args = parser.parse_args()
    client = OpenAI(base_url=args.url, api_key="none")
    model = client.models.list().data[0].id
    chunks = [json.loads(line) for line in (args.workspace / "chunks.jsonl").open()]
    passages = client.embeddings.create(model=model, input=[c["text"] for c in chunks])
    query = client.embeddings.create(model=model, input=args.question)
    matrix = np.array([d.embedding for d in passages.data], dtype=np.float32)
    scores = matrix @ np.array(query.data[0].embedding, dtype=np.float32)
    print(f"Q: {args.question}  (model {model}, {len(chunks)} passages embedded by the server)")
    for rank, index in enumerate(np.argsort(-scores)[: args.top], start=1):
        chunk = chunks[int(index)]
        body = " ".join(chunk["text"].split("\n", 1)[-1].split())
        print(
            f"{rank}. [{scores[index]:.3f}] {chunk['doc']} > {chunk['section']}\n   {body[:240]}..."
        )


if __name__ == "__main__":
    main()
