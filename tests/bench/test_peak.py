"""The matmul peak graphs, the model's cost counted from its graph, and shares of the peak."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgembed.bench.inputs import Shape
from edgembed.bench.latency import BackendLatency, ShapeLatency
from edgembed.bench.peak import GEMM, ModelCost, Peak, measure_peak, model_cost, peak_shares
from edgembed.bench.stats import Interleaved, StopRule, summarize

# The tiny BERT of tests/conftest.py: 2 layers, width 32, feed-forward 64.
TINY_MATMUL_PARAMS = 2 * (3 * 32 * 32 + 32 * 32 + 2 * 32 * 64)


def test_model_cost_counts_the_fp32_graph(tiny_bench_export: Path) -> None:
    cost = model_cost(tiny_bench_export / "model.onnx")
    assert cost == ModelCost(int8_params=0, fp32_params=TINY_MATMUL_PARAMS, layers=2, hidden=32)


def test_model_cost_splits_the_int8_graph_by_precision(tiny_bench_export: Path) -> None:
    cost = model_cost(tiny_bench_export / "model.int8.onnx")
    assert cost.int8_params > 0
    assert cost.int8_params + cost.fp32_params == TINY_MATMUL_PARAMS
    assert (cost.layers, cost.hidden) == (2, 32)


def test_flops_per_token_adds_attention() -> None:
    # all-MiniLM-L6-v2: 6 layers of width 384 and feed-forward 1536
    minilm = ModelCost(
        int8_params=0, fp32_params=6 * (4 * 384 * 384 + 2 * 384 * 1536), layers=6, hidden=384
    )
    assert minilm.flops_per_token(128) / 1e6 == pytest.approx(22.4, abs=0.05)
    assert minilm.to_json()["mflop_per_token_at_128"] == pytest.approx(22.41)


def test_measure_peak_times_both_products() -> None:
    peak = measure_peak(1, StopRule(warmup=0, min_rounds=1, max_rounds=1))
    assert peak.int8_gops > 0 and peak.fp32_gops > 0
    assert peak.int8_best_gops >= peak.int8_gops
    assert peak.threads == 1
    assert peak.to_json()["gemm_mkn"] == list(GEMM)


def _latency(p50_s: float) -> BackendLatency:
    return BackendLatency(summarize([p50_s]), 0.0, None, None)


def test_shares_compare_each_precision_with_its_own_peak() -> None:
    run = Interleaved({}, {}, 1, True, 1.0)
    result = ShapeLatency(Shape(2, 10), {"fp32": _latency(1.0), "int8": _latency(0.5)}, run)
    costs = {
        "fp32": ModelCost(0, 1_000_000_000, 1, 10),
        "int8": ModelCost(600_000_000, 400_000_000, 1, 10),
    }
    peak = Peak(
        int8_gops=400.0,
        fp32_gops=100.0,
        int8_best_gops=0,
        fp32_best_gops=0,
        threads=2,
        timed_with="2x10",
    )
    rows = {row["backend"]: row for row in peak_shares([result], costs, peak)}
    tokens, attention = 20, 4 * 10 * 10  # per token: 4 x length x width x layers
    fp32_gops = tokens * (2e9 + attention) / 1.0 / 1e9
    assert rows["fp32"]["gops"] == pytest.approx(fp32_gops, abs=0.1)
    assert rows["fp32"]["share_of_peak"] == pytest.approx(fp32_gops / 100.0, abs=1e-4)
    assert rows["int8"]["peak"] == "int8"
    assert rows["int8"]["share_of_peak"] == pytest.approx(2 * fp32_gops / 400.0, abs=1e-4)
    bound_s = (2 * 600e6 * tokens / 400.0 + (2 * 400e6 + attention) * tokens / 100.0) / 1e9
    assert rows["int8"]["share_of_mixed_bound"] == pytest.approx(bound_s / 0.5, abs=1e-4)
    assert "share_of_mixed_bound" not in rows["fp32"]
