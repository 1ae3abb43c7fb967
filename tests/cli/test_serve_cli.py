"""`edgembed serve`: option parsing, settings, and its failures (the live server: tests/server)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from edgembed.cli.main import cli
from edgembed.config import ServeSettings
from tests.conftest import TINY_EXPORT


@pytest.fixture()
def served(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Replace the blocking server run with a recorder of what it was asked to serve."""
    calls: dict[str, Any] = {}

    def record(export_dir: Path, settings: ServeSettings, **kwargs: Any) -> None:
        calls.update(export_dir=export_dir, settings=settings, **kwargs)

    monkeypatch.setattr("edgembed.server.run.serve", record)
    return calls


def test_flags_and_env_become_settings(tmp_path: Path, served: dict[str, Any]) -> None:
    export = tmp_path / "my-export"
    export.mkdir()
    result = CliRunner().invoke(
        cli,
        [
            "serve",
            str(export),
            "--port",
            "9123",
            "--variant",
            "fp32",
            "--threads",
            "2",
            "--max-wait-ms",
            "0",
            "--cors-origin",
            "https://a.example",
            "--no-truncate",
            "--model-name",
            "support-embed",
        ],
        env={"EDGEMBED_API_KEY": "from-env"},
    )
    assert result.exit_code == 0, result.output
    settings = served["settings"]
    assert served["export_dir"] == export
    assert settings == ServeSettings(
        port=9123,
        variant="fp32",
        threads=2,
        max_wait_ms=0,
        cors_origins=("https://a.example",),
        truncate=False,
        model_name="support-embed",
        api_key="from-env",
        versions_dir=tmp_path,  # the folder holding the export: where improve writes versions
    )
    assert "from-env" not in repr(settings)


def test_engine_becomes_settings(tmp_path: Path, served: dict[str, Any]) -> None:
    result = CliRunner().invoke(cli, ["serve", str(tmp_path), "--engine", "openvino"])
    assert result.exit_code == 0, result.output
    assert served["settings"].engine == "openvino"
    assert ServeSettings().engine == "onnxruntime"


def test_openvino_with_int8_is_refused_with_what_to_do(tmp_path: Path) -> None:
    """The real server loads the committed tiny export: OpenVINO cannot run its int8 file."""
    export = TINY_EXPORT
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    result = CliRunner().invoke(
        cli, ["serve", str(export), "--port", port, "--engine", "openvino", "--variant", "int8"]
    )
    assert result.exit_code == 1
    assert "OpenVINO cannot run edgembed's int8 file" in result.output


def test_connection_guards_become_settings(tmp_path: Path, served: dict[str, Any]) -> None:
    args = ["--header-timeout-s", "2.5", "--body-timeout-s", "9", "--max-connections", "64"]
    args += ["--shutdown-timeout-s", "5", "--max-request-tokens", "4096"]
    args += ["--write-timeout-s", "7", "--allowed-host", "embed.internal", "--allowed-host", "e"]
    result = CliRunner().invoke(cli, ["serve", str(tmp_path), *args])
    assert result.exit_code == 0, result.output
    assert served["settings"] == ServeSettings(
        header_timeout_s=2.5,
        body_timeout_s=9,
        write_timeout_s=7,
        max_connections=64,
        shutdown_timeout_s=5,
        max_request_tokens=4096,
        versions_dir=tmp_path.parent,
        allowed_hosts=("embed.internal", "e"),
    )
    defaults = ServeSettings()
    assert (defaults.header_timeout_s, defaults.body_timeout_s) == (10, 30)
    assert (defaults.write_timeout_s, defaults.allowed_hosts) == (30, ())
    assert (defaults.max_connections, defaults.shutdown_timeout_s) == (512, 20)


def test_export_name_is_found_in_the_workspace(tmp_path: Path, served: dict[str, Any]) -> None:
    export = tmp_path / "ws" / "exports" / "edgembed-model"
    export.mkdir(parents=True)
    result = CliRunner().invoke(
        cli, ["--workspace", str(tmp_path / "ws"), "serve", "edgembed-model"]
    )
    assert result.exit_code == 0, result.output
    assert served["export_dir"] == export
    assert served["settings"] == ServeSettings(versions_dir=export.parent)


def test_missing_export_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["serve", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "edgembed export" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "70000"], "70000"),
        (["--variant", "int4"], "int4"),
        (["--engine", "tensorrt"], "tensorrt"),
        (["--max-wait-ms", "5000"], "5000"),
        (["--max-queue", "0"], "0"),
        (["--header-timeout-s", "0"], "0"),
        (["--body-timeout-s", "-1"], "-1"),
        (["--write-timeout-s", "0"], "0"),
        (["--feedback-max-mb", "0"], "0"),
        (["--max-connections", "0"], "0"),
        (["--max-request-tokens", "0"], "0"),
        (["--shutdown-timeout-s", "-1"], "-1"),
    ],
)
def test_bad_options_are_refused(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["serve", str(tmp_path), *args])
    assert result.exit_code == 2
    assert message in result.output


def test_empty_allowed_host_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["serve", str(tmp_path), "--allowed-host", " "])
    assert result.exit_code == 1
    assert "allowed host is empty" in result.output


def test_empty_api_key_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["serve", str(tmp_path)], env={"EDGEMBED_API_KEY": " "})
    assert result.exit_code == 1
    assert "API key is empty" in result.output


@pytest.mark.parametrize("key", ["clé-secrète", "two words", "tab\there"])
def test_api_key_a_client_cannot_send_is_refused(tmp_path: Path, key: str) -> None:
    """Header values are ASCII: a key outside visible ASCII could never match a request."""
    result = CliRunner().invoke(cli, ["serve", str(tmp_path)], env={"EDGEMBED_API_KEY": key})
    assert result.exit_code == 1
    assert "visible ASCII" in result.output and key not in result.output


def test_busy_port_fails_before_loading_anything(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli, ["serve", str(tmp_path), "--port", str(port)])
    assert result.exit_code == 1
    assert f"Cannot listen on 127.0.0.1:{port}" in result.output
    assert "Traceback" not in result.output


def test_help_teaches(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert result.exit_code == 0
    assert "/v1/embeddings" in result.output and "EDGEMBED_API_KEY" in result.output


@pytest.mark.slow  # a real `edgembed serve` process
def test_a_manifest_that_disagrees_with_its_model_stops_serve_at_start(tmp_path: Path) -> None:
    """The manifest has no checksum of its own: an edited dimension is caught by the probe
    call at load, and the process exits non-zero with one line saying what disagrees."""
    export = tmp_path / "edited"
    shutil.copytree(TINY_EXPORT, export)
    manifest = json.loads((export / "manifest.json").read_text())
    manifest["model"]["dimension"] = 999
    (export / "manifest.json").write_text(json.dumps(manifest))
    command = [sys.executable, "-m", "edgembed", "serve", str(export), "--port", _free_port()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "999" in lines[0] and "32" in lines[0] and "edgembed export --force" in lines[0]


def _free_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return str(probe.getsockname()[1])
