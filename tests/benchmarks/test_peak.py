"""benchmarks/peak.py: the matmul peak graphs, the model's cost counted from its graph, and
shares of the peak."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.peak import (
    GEMM,
    PEAK_CALLS,
    ModelCost,
    Peak,
    measure_peak,
    measure_shares,
    model_cost,
    peak_shares,
)
from edgembed.bench.inputs import Shape
from edgembed.bench.stats import Interleaved, StopRule
from tests.conftest import TINY_EXPORT

# The committed tiny export: a 2-layer, 32-wide BERT with a feed-forward width of 64.
EXPORT = TINY_EXPORT
TINY_MATMUL_PARAMS = 2 * (3 * 32 * 32 + 32 * 32 + 2 * 32 * 64)
ONE_ROUND = StopRule(warmup=0, min_rounds=1, max_rounds=1, block_seconds=0, settle_seconds=0)


def test_model_cost_counts_the_fp32_graph() -> None:
    cost = model_cost(EXPORT / "model.onnx")
    assert cost == ModelCost(int8_params=0, fp32_params=TINY_MATMUL_PARAMS, layers=2, hidden=32)


def test_model_cost_splits_the_int8_graph_by_precision() -> None:
    cost = model_cost(EXPORT / "model.int8.onnx")
    assert cost.int8_params > 0
    assert cost.int8_params + cost.fp32_params == TINY_MATMUL_PARAMS
    assert (cost.layers, cost.hidden) == (2, 32)


def test_model_cost_finds_attention_inside_the_unpadded_if(tmp_path: Path) -> None:
    import onnx

    from edgembed.exporter.unpadded import skip_mask_when_unpadded

    model = onnx.load(str(EXPORT / "model.int8.onnx"))
    assert skip_mask_when_unpadded(model) == {"attention_layers": 2, "min_tokens": 64}
    onnx.save(model, str(tmp_path / "if.onnx"))
    assert model_cost(tmp_path / "if.onnx") == model_cost(EXPORT / "model.int8.onnx")


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


def test_shares_compare_each_precision_with_its_own_peak() -> None:
    times = {"fp32": [1.0], "int8": [0.5], PEAK_CALLS["int8"]: [0.1], PEAK_CALLS["fp32"]: [0.2]}
    run = Interleaved(times, {}, 1, True, 1.0)
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
    rows = {row["backend"]: row for row in peak_shares(Shape(2, 10), run, costs, peak)}
    assert set(rows) == {"fp32", "int8"}  # the peak products are not backends
    tokens, attention = 20, 4 * 10 * 10  # per token: 4 x length x width x layers
    fp32_gops = tokens * (2e9 + attention) / 1.0 / 1e9
    assert rows["fp32"]["gops"] == pytest.approx(fp32_gops, abs=0.1)
    assert rows["fp32"]["share_of_peak"] == pytest.approx(fp32_gops / 100.0, abs=1e-4)
    assert rows["int8"]["peak"] == "int8"
    assert rows["int8"]["share_of_peak"] == pytest.approx(2 * fp32_gops / 400.0, abs=1e-4)
    bound_s = (2 * 600e6 * tokens / 400.0 + (2 * 400e6 + attention) * tokens / 100.0) / 1e9
    assert rows["int8"]["share_of_mixed_bound"] == pytest.approx(bound_s / 0.5, abs=1e-4)
    assert "share_of_mixed_bound" not in rows["fp32"]


@pytest.mark.slow
def test_shares_of_an_export_are_timed_with_the_peak() -> None:
    figures = measure_shares(EXPORT, None, 1, ONE_ROUND)
    assert figures["peak"]["timed_with"] == "32x128"  # the model takes at most 128 tokens
    assert figures["model_cost"]["int8"]["int8_params"] == TINY_MATMUL_PARAMS
    # The export's source model is gone, so PyTorch is skipped with a note.
    assert {row["backend"] for row in figures["shares"]} == {"fp32", "int8"}
    assert all(row["share_of_peak"] > 0 for row in figures["shares"])
    assert "PyTorch skipped" in figures["notes"][0]
