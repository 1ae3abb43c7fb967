"""docs/cli.md is the commands' own --help, kept current (scripts/cli_reference.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "cli_reference.py"


def test_the_command_reference_is_current() -> None:
    # A fresh process: tests register fake generators that would show up in --help.
    check = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, timeout=120
    )
    assert check.returncode == 0, check.stderr
    page = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    assert "## edgembed serve" in page and "--max-request-tokens" in page


def test_a_stale_reference_is_caught(tmp_path: Path) -> None:
    stale = tmp_path / "cli.md"
    stale.write_text("# Command reference\n")
    check = subprocess.run(
        [sys.executable, str(SCRIPT), "--check", "--page", str(stale)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 1 and "out of date" in check.stderr
