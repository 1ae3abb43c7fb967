"""The server must import without torch, transformers or optimum (`pip install edgembed[serve]`)."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("torch", "transformers", "optimum", "sentence_transformers")


@pytest.mark.slow
def test_server_and_serve_command_import_no_training_stack() -> None:
    code = (
        "import sys, edgembed.server, edgembed.server.run, edgembed.runtime, edgembed.cli.serve;"
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
