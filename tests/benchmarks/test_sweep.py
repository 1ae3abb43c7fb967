"""benchmarks/sweep.py: how recipes are ranked."""

from __future__ import annotations

from typing import Any

from benchmarks.sweep import ranking


def _run(label: str, name: str, delta: float) -> dict[str, Any]:
    return {"label": label, "set": name, "delta": delta}


def test_ranking_weighs_every_set_alike_whatever_its_seed_count() -> None:
    runs = [
        # "a": one set with three seeds at +0.10, one with one seed at -0.10: mean 0.0
        *(_run("a", "big", 0.10) for _ in range(3)),
        _run("a", "small", -0.10),
        # "b": +0.02 on both sets
        _run("b", "big", 0.02),
        _run("b", "small", 0.02),
    ]
    ranked = ranking(runs)
    assert [label for label, _ in ranked] == ["b", "a"]
    assert abs(dict(ranked)["a"]) < 1e-12 and abs(dict(ranked)["b"] - 0.02) < 1e-12
