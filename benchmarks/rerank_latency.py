"""How long does reranking take? One query, N passages of about W words, an int8 reranker.

Times `OnnxReranker.score` (tokenizing included, as the server runs it) on one query and
`--passages` passages of about `--words` words each, p50 and p90 over `--rounds`, on this
machine's cores. Without `--export`, a 6-layer MiniLM-sized cross-encoder is made from the
bundled all-MiniLM-L6-v2 with a new one-score head (what `train --reranker` starts from) and
exported as `edgembed export` exports one (int8 kept whatever its gate says: its head is
untrained, and only the speed is measured here).

It also states the physical bound on this CPU: the model's matrix products counted from its
ONNX graph (`benchmarks/peak.py`), at this CPU's measured int8 and fp32 peaks under
onnxruntime, with every other op taking no time. No reranker of this size can go under it here.

    .venv/bin/python benchmarks/rerank_latency.py [--export RERANKER_EXPORT] [--passages 20]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.peak import measure_peak, model_cost  # noqa: E402
from edgembed.bench.stats import StopRule, percentile  # noqa: E402

QUERY = "can I roll over vacation days I didn't use?"


def passages(count: int, words: int, seed: int = 0) -> list[str]:
    """Passages of `words` words drawn from the sample documents' vocabulary."""
    text = " ".join(p.read_text() for p in sorted((ROOT / "sample_docs").glob("*.md")))
    vocabulary = [w for w in text.split() if w.isalpha()]
    pick = random.Random(seed)
    return [" ".join(pick.choice(vocabulary) for _ in range(words)) for _ in range(count)]


def minilm_reranker(out: Path) -> Path:
    """The bundled MiniLM's weights with a new one-score head, exported (int8 kept)."""
    from sentence_transformers import CrossEncoder

    from edgembed.config import ExportConfig
    from edgembed.exporter import export_model
    from edgembed.models import resolve_model
    from edgembed.workspace import Workspace

    folder = out / "minilm-reranker"
    model = CrossEncoder(str(resolve_model("bundled:all-MiniLM-L6-v2")), num_labels=1)
    model.save(str(folder))
    config = ExportConfig(model=str(folder), out=out / "export", accept_parity_loss=True)
    return export_model(config, Workspace(out / "ws")).out


def bound_ms(export: Path, tokens: int, pairs: int, threads: int | None) -> dict[str, Any]:
    """The fastest the model could run here: its int8 products at the best int8 product
    measured, its fp32 ones (attention's) at the best fp32 one, nothing else taking time."""
    cost = model_cost(export / "model.int8.onnx")
    peak = measure_peak(threads, StopRule(min_rounds=5, max_rounds=20, max_seconds=30))
    int8_ops = 2.0 * cost.int8_params * tokens * pairs
    fp32_ops = (2.0 * cost.fp32_params + cost.attention_flops(tokens)) * tokens * pairs
    seconds = int8_ops / (peak.int8_best_gops * 1e9) + fp32_ops / (peak.fp32_best_gops * 1e9)
    return {
        "int8_gop": round(int8_ops / 1e9, 1),
        "fp32_gflop": round(fp32_ops / 1e9, 1),
        "peak_int8_gops": round(peak.int8_best_gops, 1),
        "peak_fp32_gflops": round(peak.fp32_best_gops, 1),
        "bound_ms": round(1000 * seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--export", type=Path, default=None, help="a reranker export")
    parser.add_argument("--passages", type=int, default=20)
    parser.add_argument("--words", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    from edgembed.runtime import OnnxReranker

    with tempfile.TemporaryDirectory() as scratch:
        export = args.export or minilm_reranker(Path(scratch))
        reranker = OnnxReranker(export, variant="int8", threads=args.threads)
        documents = passages(args.passages, args.words)
        tokens = max(len(p.ids) for p in reranker.tokenize_pairs(QUERY, documents))
        reranker.score(QUERY, documents)  # warm up
        times = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            reranker.score(QUERY, documents)
            times.append((time.perf_counter() - started) * 1000)
        bound = bound_ms(export, tokens, args.passages, args.threads)
    result = {
        "passages": args.passages,
        "words": args.words,
        "tokens_per_pair": tokens,
        "p50_ms": round(percentile(times, 50), 1),
        "p90_ms": round(percentile(times, 90), 1),
        "min_ms": round(float(np.min(times)), 1),
        **bound,
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
