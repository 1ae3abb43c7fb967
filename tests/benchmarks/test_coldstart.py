"""benchmarks/coldstart.py: a fresh process per backend, its start-up time and memory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.coldstart import measure_cold_start
from edgembed.errors import ModelError
from tests.conftest import TINY_EXPORT

REPO = Path(__file__).resolve().parents[2]
EXPORT = TINY_EXPORT


@pytest.mark.slow
def test_each_backend_starts_in_a_fresh_process(tiny_mean_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "coldstart.json"
    command = [sys.executable, str(REPO / "benchmarks" / "coldstart.py"), "--export", str(EXPORT)]
    command += ["--backend", "pytorch", "--backend", "int8", "--model", str(tiny_mean_model)]
    command += ["--threads", "1", "--runs", "1", "--json", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    assert "Cold start and memory (fresh process, median of 1)" in done.stdout
    figures = json.loads(out.read_text())
    pytorch, int8 = figures["pytorch"], figures["int8"]
    assert pytorch["torch_loaded"] is True
    assert int8["torch_loaded"] is False  # the runtime never imports torch
    assert int8["rss_after_first_mb"] < pytorch["rss_after_first_mb"]
    assert 0 < int8["import_and_load_s"] < int8["seconds_to_first_embedding"]
    assert int8["peak_rss_mb"] >= int8["rss_after_first_mb"] * 0.9


@pytest.mark.slow
def test_a_failing_cold_start_process_says_why(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="cold-start process failed"):
        measure_cold_start(["int8"], tmp_path, None, 1, 1, ["x"])
