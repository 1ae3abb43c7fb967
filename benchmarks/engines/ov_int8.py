"""Does OpenVINO's own int8 path beat onnxruntime int8 on an edgembed export?

OpenVINO cannot read edgembed's int8 file (docs/findings.md, Engines). It has an int8 path of
its own: MatMul weights stored as int8 behind a DequantizeLinear (weight-only), and the CPU
plugin quantizes each token's activations at run time in groups along the reduced axis
(DYNAMIC_QUANTIZATION_GROUP_SIZE), so the products run in int8. This script writes that file
from the export's fp32 model.onnx (per-output-channel symmetric int8 weights; the embedding
tables stay fp32), then, in one process and interleaved round by round:

- accuracy: cosine to the fp32 file on onnxruntime over the sample questions, 64 passages and
  six one-to-three-word inputs, each text embedded alone;
- batch invariance: each text alone against the same text in a batch of 32, and beside 31
  passages;
- speed: median of rounds at 1x16 and 32x128 tokens, PyTorch (sentence-transformers' model)
  as the reference.

    .venv/bin/python benchmarks/engines/ov_int8.py --export WORKSPACE/exports/NAME

Results go to benchmarks/results/engines.jsonl (`--out` to change).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
Feeds = dict[str, np.ndarray]
Backend = Callable[[Feeds], np.ndarray]
SHORT = ["ok", "?!", "vpn", "pto days", "401k match", "sick leave policy"]


def weight_only_int8(src: Path, dst: Path) -> int:
    """Write `src` with every MatMul's 2-D constant weight as int8 + DequantizeLinear (one
    scale per output column, quantized as edgembed's int8 export does); returns how many
    MatMuls were rewritten."""
    import onnx
    from onnx import helper, numpy_helper

    from edgembed.exporter.per_row import quantized_weight

    model = onnx.load(str(src))
    graph = model.graph
    weights = {init.name: init for init in graph.initializer}
    nodes, added, count = [], [], 0
    for node in graph.node:
        init = weights.get(node.input[1]) if node.op_type == "MatMul" else None
        if init is not None and len(init.dims) == 2:
            q, scale, _ = quantized_weight(init, unsigned=False)  # the export's own weights
            name = init.name
            added += [
                numpy_helper.from_array(q, f"{name}_int8"),
                numpy_helper.from_array(scale, f"{name}_scale"),
            ]
            nodes.append(
                helper.make_node(
                    "DequantizeLinear",
                    [f"{name}_int8", f"{name}_scale"],
                    [f"{name}_dq"],
                    axis=1,
                    name=f"{name}_dequantize",
                )
            )
            node.input[1] = f"{name}_dq"
            count += 1
        nodes.append(node)
    del graph.node[:]
    graph.node.extend(nodes)
    used = {name for node in graph.node for name in node.input}
    kept = [init for init in graph.initializer if init.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept + added)
    onnx.save(model, str(dst))
    return count


def backends(export: Path, w8: Path) -> dict[str, Backend]:
    import onnxruntime as ort
    import openvino as ov

    core = ov.Core()

    def openvino(path: Path, config: dict[str, str]) -> Backend:
        compiled = core.compile_model(str(path), "CPU", {"PERFORMANCE_HINT": "LATENCY", **config})
        request = compiled.create_infer_request()
        return lambda feeds: np.asarray(request.infer(feeds)[compiled.output(0)]).copy()

    int8 = ort.InferenceSession(str(export / "model.int8.onnx"), providers=["CPUExecutionProvider"])
    return {
        "ort-int8": lambda feeds: int8.run(None, feeds)[0],
        "ov-bf16": openvino(export / "model.onnx", {"INFERENCE_PRECISION_HINT": "bf16"}),
        "ov-w8-bf16-g32": openvino(
            w8, {"INFERENCE_PRECISION_HINT": "bf16", "DYNAMIC_QUANTIZATION_GROUP_SIZE": "32"}
        ),
        "ov-w8-f32-g32": openvino(
            w8, {"INFERENCE_PRECISION_HINT": "f32", "DYNAMIC_QUANTIZATION_GROUP_SIZE": "32"}
        ),
    }


def accuracy(export: Path, runs: dict[str, Backend], questions: Path) -> dict[str, Any]:
    import onnxruntime as ort
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(export / "tokenizer.json"))
    tokenizer.enable_padding()
    tokenizer.enable_truncation(256)

    def encode(texts: list[str]) -> Feeds:
        rows = tokenizer.encode_batch(texts)
        ids = np.array([r.ids for r in rows], dtype=np.int64)
        mask = np.array([r.attention_mask for r in rows], dtype=np.int64)
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}

    lines = questions.read_text(encoding="utf-8").splitlines()
    asked = [json.loads(line)["question"] for line in lines if line.strip()]
    chunks = ROOT / "sample_docs"
    passages = [
        " ".join(p.read_text(encoding="utf-8").split()[:200]) for p in sorted(chunks.glob("*.md"))
    ]
    texts = asked + passages + SHORT
    fp32 = ort.InferenceSession(str(export / "model.onnx"), providers=["CPUExecutionProvider"])
    ref = np.concatenate([fp32.run(None, encode([t]))[0] for t in texts])
    out = {}
    for name, run in runs.items():
        alone = np.concatenate([run(encode([t])) for t in texts])
        batched = np.concatenate([run(encode(texts[i : i + 32])) for i in range(0, len(texts), 32)])
        beside = np.concatenate([run(encode([q, *passages[:31]]))[:1] for q in asked[:40]])
        cos = (alone * ref).sum(1)
        out[name] = {
            "cosine_mean": round(float(cos.mean()), 5),
            "cosine_min": round(float(cos.min()), 4),
            "cosine_short_mean": round(float(cos[-len(SHORT) :].mean()), 4),
            "alone_vs_batched_min": round(float((alone * batched).sum(1).min()), 6),
            "alone_vs_beside_min": round(float((alone[: len(beside)] * beside).sum(1).min()), 6),
        }
    return out


def speed(runs: dict[str, Backend], rounds: int) -> dict[str, dict[str, float]]:
    import torch
    from sentence_transformers import SentenceTransformer

    from edgembed.models import resolve_model

    model = SentenceTransformer(str(resolve_model("bundled:all-MiniLM-L6-v2")), device="cpu")
    encoder = model[0].auto_model

    def pytorch(feeds: Feeds) -> np.ndarray:
        with torch.inference_mode():
            ids = torch.from_numpy(feeds["input_ids"])
            mask = torch.from_numpy(feeds["attention_mask"])
            return encoder(input_ids=ids, attention_mask=mask)[0].mean(1).numpy()

    timed = {**runs, "pytorch": pytorch}
    rng = np.random.default_rng(0)
    out: dict[str, dict[str, float]] = {}
    for batch, tokens in ((1, 16), (32, 128)):
        ids = rng.integers(1000, 29000, size=(batch, tokens)).astype(np.int64)
        feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
        feeds["token_type_ids"] = np.zeros_like(ids)
        times: dict[str, list[float]] = {name: [] for name in timed}
        for run in timed.values():
            run(feeds)
        for _ in range(rounds if batch == 1 else max(3, rounds // 5)):
            for name, run in timed.items():
                start = time.perf_counter()
                run(feeds)
                times[name].append(time.perf_counter() - start)
        medians = {name: statistics.median(t) for name, t in times.items()}
        out[f"{batch}x{tokens}"] = {
            name: round(medians["pytorch"] / m, 2) for name, m in medians.items()
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--export", type=Path, required=True, help="an edgembed export folder")
    parser.add_argument("--questions", type=Path, default=ROOT / "sample_docs" / "questions.jsonl")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        w8 = Path(tmp) / "model.w8.onnx"
        rewritten = weight_only_int8(args.export / "model.onnx", w8)
        runs = backends(args.export, w8)
        row = {
            "harness": "ov_int8",
            "export": str(args.export),
            "matmuls_int8": rewritten,
            "accuracy": accuracy(args.export, runs, args.questions),
            "speedup_vs_pytorch": speed(runs, args.rounds),
        }
    print(json.dumps(row, indent=2))
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "engines.jsonl").open("a", encoding="utf-8") as log:
        log.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
