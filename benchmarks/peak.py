"""What share of this CPU's matrix-multiply peak does the model reach?

Times the int8 and fp32 matmul peak of this CPU under onnxruntime, counts the model's cost in
operations from its ONNX graph, and gives each backend's share of its precision's peak.

The peak is timed on a one-node graph (a big MatMulInteger, and a big MatMul) run by the
same onnxruntime with the same threads as the model, so "share of peak" says how much of
what onnxruntime can do on this CPU the whole model reaches, not a datasheet figure. The two
products are timed in the same interleaved rounds as the backends (one batch of 32 texts of
256 tokens, or of the model's limit when shorter), so on a busy machine the peak and the
model are measured under the same load.

    .venv/bin/python benchmarks/peak.py --export WORKSPACE/exports/NAME [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edgembed.bench.inputs import Shape  # noqa: E402
from edgembed.bench.stats import Interleaved, StopRule, percentile, run_interleaved  # noqa: E402
from edgembed.errors import MissingExtraError  # noqa: E402

if TYPE_CHECKING:
    import onnx

__all__ = [
    "GEMM",
    "PEAK_CALLS",
    "ModelCost",
    "Peak",
    "main",
    "measure_peak",
    "model_cost",
    "peak_calls",
    "peak_from",
    "peak_shares",
]

GEMM = (4096, 1024, 1024)
"""M x K x N of the peak test: 8.6 GOP, big enough that call overhead does not count."""

_WEIGHT_INPUT = {
    "MatMul": 1,
    "MatMulInteger": 1,
    "MatMulIntegerToFloat": 1,
    "Gemm": 1,
    "QAttention": 1,
    "Attention": 1,
}
_INT8_OPS = {
    "MatMulInteger",
    "MatMulIntegerToFloat",
    "QAttention",
    "QLinearMatMul",
    "DynamicQuantizeMatMul",
}
_ATTENTION_OPS = {"Softmax", "Attention", "QAttention", "MultiHeadAttention"}


PEAK_CALLS = {"int8": "matmul peak int8", "fp32": "matmul peak fp32"}
"""The names the two peak products are timed under, beside the model's backends."""


@dataclass(frozen=True)
class Peak:
    """Operations per second of one big int8 and fp32 matrix product (median and best).

    Attributes:
        timed_with: the latency shape whose rounds the products were timed in (None: alone).
    """

    int8_gops: float
    fp32_gops: float
    int8_best_gops: float
    fp32_best_gops: float
    threads: int
    timed_with: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "gemm_mkn": list(GEMM),
            "threads": self.threads,
            "timed_with": self.timed_with,
            "int8_gops": round(self.int8_gops, 1),
            "fp32_gops": round(self.fp32_gops, 1),
            "int8_best_gops": round(self.int8_best_gops, 1),
            "fp32_best_gops": round(self.fp32_best_gops, 1),
        }


def _gemm_graph(int8: bool) -> tuple[bytes, np.ndarray[Any, Any]]:
    """A model computing A @ B with B a constant, and an input A for it."""
    try:
        from onnx import TensorProto, helper, numpy_helper
    except ImportError as exc:
        raise MissingExtraError("onnx", "train") from exc
    m, k, n = GEMM
    rng = np.random.default_rng(0)
    if int8:
        # u8 activations x s8 weights with an activation zero point: what dynamic int8 runs.
        a: np.ndarray[Any, Any] = rng.integers(0, 255, (m, k), dtype=np.uint8)
        weights = numpy_helper.from_array(rng.integers(-127, 127, (k, n), dtype=np.int8), "B")
        zero = numpy_helper.from_array(np.array(128, dtype=np.uint8), "zero")
        node = helper.make_node("MatMulInteger", ["A", "B", "zero"], ["Y"])
        types, initializers = (TensorProto.UINT8, TensorProto.INT32), [weights, zero]
    else:
        a = rng.standard_normal((m, k)).astype(np.float32)
        weights = numpy_helper.from_array(rng.standard_normal((k, n)).astype(np.float32), "B")
        node = helper.make_node("MatMul", ["A", "B"], ["Y"])
        types, initializers = (TensorProto.FLOAT, TensorProto.FLOAT), [weights]
    graph = helper.make_graph(
        [node],
        "peak",
        [helper.make_tensor_value_info("A", types[0], [m, k])],
        [helper.make_tensor_value_info("Y", types[1], [m, n])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString(), a


def peak_calls(threads: int | None) -> dict[str, Callable[[], object]]:
    """The int8 and fp32 products as calls to time, under the names of PEAK_CALLS, in
    sessions set up as the model's are.

    Raises:
        MissingExtraError: onnx or onnxruntime is not installed.
    """
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise MissingExtraError("onnxruntime", "serve") from exc
    options = ort.SessionOptions()
    options.inter_op_num_threads = 1
    if threads is not None:
        options.intra_op_num_threads = threads
    calls = {}
    for precision, name in PEAK_CALLS.items():
        blob, a = _gemm_graph(precision == "int8")
        session = ort.InferenceSession(blob, options, providers=["CPUExecutionProvider"])
        calls[name] = _runner(session, a)
    return calls


def peak_from(run: Interleaved, threads: int | None, timed_with: str | None) -> Peak:
    """The peak from a run that timed the calls of `peak_calls`."""
    from edgembed.bench.backends import physical_cores

    ops = 2.0 * GEMM[0] * GEMM[1] * GEMM[2] / 1e9

    def gops(precision: str, q: float) -> float:
        return ops / percentile(run.times[PEAK_CALLS[precision]], q)

    return Peak(
        int8_gops=gops("int8", 50),
        fp32_gops=gops("fp32", 50),
        int8_best_gops=gops("int8", 0),
        fp32_best_gops=gops("fp32", 0),
        threads=threads or physical_cores(),
        timed_with=timed_with,
    )


def measure_peak(threads: int | None, rule: StopRule) -> Peak:
    """Time the int8 and fp32 products alone, interleaved.

    Raises:
        MissingExtraError: onnx or onnxruntime is not installed.
    """
    return peak_from(run_interleaved(peak_calls(threads), rule), threads, None)


def _runner(session: Any, a: np.ndarray[Any, Any]) -> Callable[[], object]:
    def call() -> object:
        return session.run(None, {"A": a})

    return call


@dataclass(frozen=True)
class ModelCost:
    """Where a model's arithmetic goes, counted from its ONNX graph.

    Attributes:
        int8_params: weights of matrix products run in int8.
        fp32_params: weights of matrix products run in fp32.
        layers: attention blocks.
        hidden: the width attention works at.
    """

    int8_params: int
    fp32_params: int
    layers: int
    hidden: int

    def attention_flops(self, tokens: int) -> float:
        """Per token of a `tokens`-long sequence: Q.K^T and softmax(.).V (always fp32)."""
        return 4.0 * tokens * self.hidden * self.layers

    def flops_per_token(self, tokens: int) -> float:
        """Operations per token: 2 per weight (multiply and add) plus attention."""
        return 2.0 * (self.int8_params + self.fp32_params) + self.attention_flops(tokens)

    def to_json(self) -> dict[str, Any]:
        return {
            "int8_params": self.int8_params,
            "fp32_params": self.fp32_params,
            "layers": self.layers,
            "hidden": self.hidden,
            "mflop_per_token_at_128": round(self.flops_per_token(128) / 1e6, 2),
        }


def model_cost(path: Path) -> ModelCost:
    """Count the matrix-product weights (by precision) and attention blocks of an ONNX file.

    Raises:
        MissingExtraError: onnx is not installed.
    """
    try:
        import onnx
    except ImportError as exc:
        raise MissingExtraError("onnx", "train") from exc
    graph = onnx.load(str(path), load_external_data=False).graph
    shapes = {init.name: tuple(init.dims) for init in graph.initializer}
    int8 = fp32 = layers = hidden = 0
    for node in graph.node:
        layers += bool(_ATTENTION_OPS & _op_types(node))
        weight = _weight_shape(node, shapes)
        if weight is None:
            continue
        hidden = hidden or weight[0]
        if node.op_type in _INT8_OPS:
            int8 += int(np.prod(weight))
        else:
            fp32 += int(np.prod(weight))
    return ModelCost(int8, fp32, layers, hidden)


def _op_types(node: onnx.NodeProto) -> set[str]:
    """The node's op type, and for an If (the int8 export's attention, exporter/unpadded.py)
    those of its first branch: the two branches hold the same op."""
    if node.op_type != "If":
        return {node.op_type}
    import onnx

    branch = next(a for a in node.attribute if a.name == "then_branch")
    return {inner.op_type for inner in onnx.helper.get_attribute_value(branch).node}


def _weight_shape(
    node: onnx.NodeProto, shapes: dict[str, tuple[int, ...]]
) -> tuple[int, ...] | None:
    index = _WEIGHT_INPUT.get(node.op_type)
    if index is None or len(node.input) <= index:
        return None
    shape = shapes.get(node.input[index])
    return shape if shape is not None and len(shape) == 2 else None


def peak_shares(
    shape: Shape, run: Interleaved, costs: Mapping[str, ModelCost], peak: Peak
) -> list[dict[str, Any]]:
    """Each backend timed in `run` (on `shape`), in operations per second and as a share of
    its precision's peak.

    int8 runs are compared with the int8 peak (the target figure) and also with the bound of
    a mixed model: its int8 products at the int8 peak plus its fp32 products and attention
    at the fp32 peak (an int8 export that keeps some products in fp32 cannot beat that).
    """
    rows = []
    tokens = shape.batch * shape.tokens
    for name, times in run.times.items():
        cost = costs.get(name) or costs.get("fp32")
        if name in PEAK_CALLS.values() or cost is None:
            continue
        seconds = percentile(times, 50)
        gops = tokens * cost.flops_per_token(shape.tokens) / seconds / 1e9
        is_int8 = cost.int8_params > 0
        row: dict[str, Any] = {
            "shape": shape.label,
            "backend": name,
            "gops": round(gops, 1),
            "peak": "int8" if is_int8 else "fp32",
            "share_of_peak": round(gops / (peak.int8_gops if is_int8 else peak.fp32_gops), 4),
        }
        if is_int8:
            bound = (
                2 * cost.int8_params * tokens / peak.int8_gops
                + (2 * cost.fp32_params + cost.attention_flops(shape.tokens))
                * tokens
                / peak.fp32_gops
            ) / 1e9
            row["share_of_mixed_bound"] = round(bound / seconds, 4)
        rows.append(row)
    return rows


def measure_shares(
    export_dir: Path, model: str | None, threads: int | None, rule: StopRule
) -> dict[str, Any]:
    """Time every backend of `export_dir` and the two peak products in the same rounds.

    Returns:
        the peak, the model's cost per variant and each backend's share (JSON-ready).
    """
    from edgembed.bench.backends import load_backends
    from edgembed.bench.inputs import exact_texts
    from edgembed.formats.manifest import read_manifest
    from edgembed.runtime import OnnxEmbedder

    manifest = read_manifest(export_dir)
    shape = Shape(32, min(256, manifest.max_seq_length))
    engine = OnnxEmbedder(export_dir, "fp32")
    texts = exact_texts(lambda t: engine.tokenize(t, truncate=False), shape.tokens, shape.batch)
    backends, notes = load_backends(export_dir, model, threads)
    calls: dict[str, Callable[[], object]] = {
        backend.name: _embedding(backend.embed, texts) for backend in backends
    }
    run = run_interleaved({**calls, **peak_calls(threads)}, rule)
    peak = peak_from(run, threads, shape.label)
    costs = {
        variant: model_cost(export_dir / manifest.model_file(variant).path)
        for variant in manifest.variants
    }
    return {
        "export_dir": str(export_dir),
        "rounds": run.to_json(),
        "peak": peak.to_json(),
        "model_cost": {name: cost.to_json() for name, cost in costs.items()},
        "shares": peak_shares(shape, run, costs, peak),
        "notes": notes,
    }


def _embedding(embed: Callable[[list[str]], object], texts: list[str]) -> Callable[[], object]:
    def call() -> object:
        return embed(texts)

    return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--export", type=Path, required=True, help="an export folder")
    parser.add_argument("--model", help="the PyTorch model (default: the export's source)")
    parser.add_argument("--threads", type=int, default=None, help="default: physical cores")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="bound of the rounds")
    parser.add_argument("--json", type=Path, default=None, help="write every figure here")
    args = parser.parse_args()

    from edgembed.bench.run import stop_rule
    from edgembed.cli.table import format_table
    from edgembed.config import BenchConfig

    rule = stop_rule(BenchConfig(max_seconds=args.max_seconds))  # as a full `edgembed bench`
    figures = measure_shares(args.export, args.model, args.threads, rule)
    peak = figures["peak"]
    print(
        f"onnxruntime, {peak['threads']} threads: int8 {peak['int8_gops']:.0f} GOP/s, "
        f"fp32 {peak['fp32_gops']:.0f} GFLOP/s (medians, timed with {peak['timed_with']})"
    )
    columns = ("shape", "backend", "gops", "peak", "share_of_peak", "share_of_mixed_bound")
    rows = [[row.get(column, "") for column in columns] for row in figures["shares"]]
    print(format_table(columns, rows))
    for note in figures["notes"]:
        print(f"note: {note}")
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
