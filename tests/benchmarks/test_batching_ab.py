"""benchmarks/batching_ab.py: the same export served with batching on and off, in turns."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TINY_EXPORT

REPO = Path(__file__).resolve().parents[2]
EXPORT = TINY_EXPORT


@pytest.mark.slow
def test_the_two_servers_take_turns(tmp_path: Path) -> None:
    out = tmp_path / "ab.json"
    command = [sys.executable, str(REPO / "benchmarks" / "batching_ab.py"), "--export", str(EXPORT)]
    command += ["--threads", "1", "--concurrency", "4", "--rounds", "2", "--requests", "40"]
    command += ["--seconds", "10", "--json", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    figures = json.loads(out.read_text())
    assert figures["concurrency"] == 4
    assert len(figures["batched_req_per_s"]) == len(figures["unbatched_req_per_s"]) == 2
    assert len(figures["gain_rounds"]) == 2 and all(gain > 0 for gain in figures["gain_rounds"])
    assert min(figures["gain_rounds"]) <= figures["gain"] <= max(figures["gain_rounds"])
    assert figures["engine_batch_gain"] > 0
    assert f"batching gain at concurrency 4: {figures['gain']:.2f}x" in done.stdout
