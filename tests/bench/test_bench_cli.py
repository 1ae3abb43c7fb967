"""`edgembed bench` end to end on the tiny export, and its refusals of bad input."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from statistics import median

import pytest
from click.testing import CliRunner, Result

from edgembed.bench.backends import load_backends
from edgembed.bench.gate import load_baseline
from edgembed.cli.main import cli
from edgembed.config import BenchConfig
from edgembed.errors import ConfigError
from edgembed.workspace import Workspace


def bench(workspace: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--workspace", str(workspace), "bench", *args])


def write_baseline(path: Path, checks: dict[str, dict[str, object]]) -> Path:
    path.write_text(json.dumps({"format_version": 1, "about": "test", "checks": checks}))
    return path


def test_no_export_is_refused(tmp_path: Path) -> None:
    result = bench(tmp_path)
    assert result.exit_code == 1
    assert "no export under" in result.output and "edgembed export" in result.output


def test_an_export_dir_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    result = bench(tmp_path, "nowhere")
    assert result.exit_code == 1
    assert "nowhere is not a folder" in result.output


def test_a_remote_http_url_is_refused_before_measuring(tmp_path: Path) -> None:
    result = bench(tmp_path, "--http", "http://example.com:8001")
    assert result.exit_code == 1
    assert "on this machine" in result.output


def test_a_missing_baseline_is_refused_before_measuring(tmp_path: Path) -> None:
    result = bench(tmp_path, "--check", str(tmp_path / "none.json"))
    assert result.exit_code == 1
    assert "baseline" in result.output and "not found" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--skip", "everything"], "Invalid value for '--skip'"),
        (["--threads", "0"], "Invalid value for '--threads'"),
        (["--max-seconds", "0"], "Invalid value for '--max-seconds'"),
        (["--engine", "tensorrt"], "Invalid value for '--engine'"),
    ],
)
def test_bad_options_are_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    result = bench(tmp_path, *args)
    assert result.exit_code == 2
    assert message in result.output


def test_http_and_serve_together_are_refused(tmp_path: Path) -> None:
    result = bench(tmp_path, "--http", "http://127.0.0.1:1", "--serve")
    assert result.exit_code == 1
    assert "either --http URL" in result.output
    with pytest.raises(ConfigError, match="unknown bench section"):
        BenchConfig(skip=("http",))


def test_pytorch_is_skipped_with_a_note_when_torch_is_missing(
    tiny_bench_export: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch -> ImportError
    backends, notes = load_backends(tiny_bench_export, None, 1)
    assert [b.name for b in backends] == ["fp32", "int8"]
    assert "PyTorch skipped: torch is not installed" in notes[0]


def test_pytorch_named_with_model_must_load(tiny_bench_export: Path, tmp_path: Path) -> None:
    result = bench(tmp_path, str(tiny_bench_export), "--model", str(tmp_path / "no-model"))
    assert result.exit_code == 1
    assert "not found" in result.output


def test_an_export_whose_source_model_is_gone_skips_pytorch(
    tiny_bench_export: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "export"
    shutil.copytree(tiny_bench_export, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["source_model"] = str(tmp_path / "moved-away")
    (copy / "manifest.json").write_text(json.dumps(manifest))
    backends, notes = load_backends(copy, None, 1)
    assert [b.name for b in backends] == ["fp32", "int8"]
    assert "pass --model" in notes[0]


@pytest.mark.slow
def test_quick_bench_with_server_gate_and_new_baseline(bench_workspace: Workspace) -> None:
    root = bench_workspace.root
    passing = write_baseline(
        root / "pass.json",
        {
            "speedup.int8.1x16": {"expected": 0.01, "better": "higher", "rel_tol": 0.4},
            "accuracy.int8.eval_pairs.ndcg_delta": {
                "expected": 0.0,
                "better": "higher",
                "abs_tol": 1.0,
            },
            "http.latency_ratio_c1": {"expected": 100, "better": "lower", "optional": True},
        },
    )
    saved = root / "saved.json"
    result = bench(
        root, "tiny", "--quick", "--max-seconds", "1", "--threads", "1", "--serve",
        "--questions", str(root / "questions.jsonl"), "--check", str(passing),
        "--save-baseline", str(saved),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for title in ("Targets", "Latency", "Retrieval accuracy", "HTTP load"):
        assert title in result.output
    assert "BETTER   speedup.int8.1x16" in result.output
    data = json.loads((bench_workspace.reports / "bench.json").read_text())
    assert data["settings"]["shapes"] == ["1x16", "32x128"]
    assert {b["name"]: b["threads"] for b in data["backends"]} == {
        "pytorch": 1,
        "fp32": 1,
        "int8": 1,
    }
    assert data["figures"]["speedup.int8.1x16"] > 0
    assert [a["query_set"] for a in data["accuracy"]] == ["eval pairs", "real questions"]
    assert [level["concurrency"] for level in data["http"]["levels"]] == [1, 4, 16]
    assert all(level["status"] == {"200": level["completed"]} for level in data["http"]["levels"])
    ratios = data["http"]["latency_ratio_rounds"]  # the server and the engine take turns
    assert len(ratios) >= 10 and all(ratio > 0 for ratio in ratios)
    assert data["figures"]["http.latency_ratio_c1"] == pytest.approx(median(ratios), abs=2e-3)
    assert 0 < data["figures"]["http.ready_s"] < 120
    assert data["figures"]["http.idle_rss_mb"] > 10
    assert data["figures"]["http.rss_after_large_mb"] > 10
    assert data["gate"]["passed"] is True
    assert (bench_workspace.reports / "bench.md").read_text().startswith("# Bench: tiny")
    assert {c.figure for c in load_baseline(saved).checks} >= {"speedup.int8.1x16"}


@pytest.mark.slow
def test_bench_times_openvino_beside_onnxruntime(bench_workspace: Workspace) -> None:
    """--engine twice: OpenVINO on the fp32 file is timed and scored in the same rounds."""
    pytest.importorskip("openvino", reason="openvino is not installed (edgembed[openvino])")
    result = bench(
        bench_workspace.root, "tiny", "--quick", "--max-seconds", "1", "--threads", "1",
        "--engine", "onnxruntime", "--engine", "openvino", "--skip", "accuracy",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads((bench_workspace.reports / "bench.json").read_text())
    backends = {b["name"]: b["detail"] for b in data["backends"]}
    assert list(backends) == ["pytorch", "fp32", "int8", "openvino"]
    assert backends["openvino"].startswith("openvino ") and "fp32 file in" in backends["openvino"]
    for shape in data["latency"]:
        assert shape["backends"]["openvino"]["speedup_vs_pytorch"] > 0


def test_openvino_alone_leaves_the_onnxruntime_backends_out(tiny_bench_export: Path) -> None:
    pytest.importorskip("openvino", reason="openvino is not installed (edgembed[openvino])")
    backends, _ = load_backends(tiny_bench_export, None, 1, ("openvino",))
    assert [b.name for b in backends][-1:] == ["openvino"]
    assert "int8" not in [b.name for b in backends]


@pytest.mark.slow
def test_a_regression_fails_the_gate_with_a_diff(bench_workspace: Workspace) -> None:
    root = bench_workspace.root
    impossible = write_baseline(
        root / "impossible.json",
        {"speedup.int8.1x16": {"expected": 1000.0, "better": "higher", "rel_tol": 0.4}},
    )
    result = CliRunner().invoke(
        cli,
        ["-q", "--workspace", str(root), "bench", "tiny", "--quick", "--skip", "accuracy",
         "--max-seconds", "0.5", "--check", str(impossible)],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "worse than" in result.output
    assert "WORSE    speedup.int8.1x16" in result.output and "limit >= 600.000" in result.output
    data = json.loads((bench_workspace.reports / "bench.json").read_text())
    assert data["gate"]["passed"] is False  # the reports are written all the same


@pytest.mark.slow
def test_full_bench_times_every_shape_that_fits(bench_workspace: Workspace) -> None:
    root = bench_workspace.root
    result = bench(root, "tiny", "--skip", "accuracy", "--max-seconds", "0.3", "--threads", "1")
    assert result.exit_code == 0, result.output
    assert "note: 32x256 skipped: the model takes at most 128 tokens" in result.output
    data = json.loads((bench_workspace.reports / "bench.json").read_text())
    assert data["settings"]["shapes"] == ["1x16", "1x128", "32x128", "32x256"]
    assert data["settings"]["sections"] == ["latency"]
    assert [r["tokens"] for r in data["latency"]] == [16, 128, 128]
    assert data["accuracy"] == [] and data["http"] is None
