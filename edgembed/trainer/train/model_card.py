"""A short model card (README.md) for a fine-tuned model folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgembed.atomic import write_text

__all__ = ["write_model_card"]


def write_model_card(folder: Path, metrics: dict[str, Any]) -> None:
    """Write folder/README.md from the training metrics: base model, data, loss, scores."""
    config = metrics["config"]
    data = metrics["data"]
    rows = "\n".join(
        f"| {row['epoch']:.0f} | {row.get(metrics['metric'], float('nan')):.4f} |"
        for row in metrics["epochs"]
    )
    loss = (
        "CachedMultipleNegativesRankingLoss"
        if config["loss"] == "cached-mnrl"
        else ("MultipleNegativesRankingLoss")
    )
    if config["matryoshka_dims"]:
        loss = f"MatryoshkaLoss({loss}, dims={config['matryoshka_dims']})"
    text = f"""# {config["name"]}

A sentence-transformers embedding model fine-tuned by edgembed for retrieval over one
organisation's documents.

- Base model: `{metrics["base_model"]}`
- Data: {data["train_pairs"]} training pairs, {data["eval_pairs"]} eval questions over
  {data["chunks"]} passages (split by passage: no eval passage was a training positive)
- Loss: {loss}, {config["hard_negatives"]} mined hard negatives per pair
- Hyper-parameters: {config["epochs"]} epochs, batch size {config["batch_size"]} (no duplicates
  in a batch), learning rate {config["learning_rate"]}, warm-up ratio {config["warmup_ratio"]},
  seed {config["seed"]}, device {metrics["device"]}
- Training time: {metrics["train_seconds"]} s

## Retrieval on the held-out eval questions (NDCG@10 over the whole corpus)

| epoch | NDCG@10 |
|---|---|
| base | {metrics["base_ndcg_at_10"]:.4f} |
{rows}
| saved | {metrics["saved_ndcg_at_10"]:.4f} |

Best epoch: {metrics["best_epoch"]:.0f}. Saved weights: base + {metrics["finetuned_weight"]} x
(best epoch - base), a weight-space ensemble (WiSE-FT) that keeps the base model's hold on real
questions. These are synthetic questions; `edgembed evaluate` compares base and fine-tuned
models on real questions when you have them.
"""
    write_text(folder / "README.md", text)
