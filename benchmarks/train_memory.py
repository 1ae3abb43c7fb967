"""Memory and time of one training step of the bundled MiniLM, as `train` runs it.

MultipleNegativesRankingLoss on batches of 16 (query, passage) pairs with passages cut at 256
tokens, token embeddings frozen, bfloat16 autocast where `train` would use it; the first step is
a warm-up, the next six are timed. Each variant runs in a fresh process (peak RSS is per
process):

    .venv/bin/python benchmarks/train_memory.py                # every variant, one after another
    .venv/bin/python benchmarks/train_memory.py --variant checkpointing

Variants: `default` (the step as it was), `checkpointing` (activations recomputed in the
backward pass, what `train` does now), `no-attention-dropout` (attention dropout 0, which lets
PyTorch's fused CPU attention run: not a recipe edgembed uses, for comparison), `fp32`.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

VARIANTS = ("default", "checkpointing", "no-attention-dropout", "fp32")
STEPS = 7
BATCH = 16


def _passages(count: int) -> list[str]:
    """Passages long enough to fill 256 tokens, from the sample corpus repeated."""
    root = Path(__file__).resolve().parents[1] / "sample_docs"
    words = " ".join(p.read_text() for p in sorted(root.glob("*.md"))).split()
    return [" ".join(words[i * 50 : i * 50 + 300]) for i in range(count)]


def _step(variant: str) -> dict[str, object]:
    """One variant's step, set up with the helpers `train` itself uses."""
    import torch
    from sentence_transformers import losses

    from edgembed.models import load_sentence_transformer, resolve_model
    from edgembed.trainer.train.model_setup import (
        attention_dropout,
        freeze_token_embeddings,
        recompute_activations,
    )

    torch.manual_seed(0)
    path = resolve_model("bundled:all-MiniLM-L6-v2")
    dropout = attention_dropout(path, 0.0 if variant == "no-attention-dropout" else None)
    model = load_sentence_transformer(path, "cpu", dropout)
    model.max_seq_length = 256
    freeze_token_embeddings(model)
    if variant == "checkpointing":
        recompute_activations(model)
    passages = _passages(STEPS * BATCH)
    loss = losses.MultipleNegativesRankingLoss(model)
    model.train()
    started = 0.0
    for step in range(STEPS):
        if step == 1:
            started = time.perf_counter()
        batch = passages[step * BATCH : (step + 1) * BATCH]
        features = [model.tokenize([p[:60] for p in batch]), model.tokenize(batch)]
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=variant != "fp32"):
            value = loss(features, None)
        value.backward()
        model.zero_grad(set_to_none=True)
    return {
        "variant": variant,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        "seconds_a_step": round((time.perf_counter() - started) / (STEPS - 1), 2),
        "tokens": list(features[1]["input_ids"].shape),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--variant", choices=VARIANTS)
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(_step(args.variant)), flush=True)
        return
    for variant in VARIANTS:
        done = subprocess.run(
            [sys.executable, __file__, "--variant", variant], capture_output=True, text=True
        )
        print(done.stdout.strip().splitlines()[-1] if done.returncode == 0 else done.stderr)


if __name__ == "__main__":
    main()
