"""The runtime works with torch, transformers, optimum and sentence-transformers unimportable."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests.runtime.test_golden import EXPORT

BLOCKED = ("torch", "transformers", "optimum", "sentence_transformers")

SCRIPT = textwrap.dedent(
    """
    import sys

    BLOCKED = {blocked!r}

    class Blocker:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{{name}} is blocked in this test")
            return None

    sys.meta_path.insert(0, Blocker())
    from edgembed.runtime import OnnxEmbedder

    embedder = OnnxEmbedder(sys.argv[1])
    vectors = embedder.embed(["runs without torch", "and without transformers"])
    loaded = sorted(n for n in sys.modules if n.split(".")[0] in BLOCKED)
    print(vectors.shape, vectors.dtype, loaded)
    """
)


@pytest.mark.slow
def test_runtime_runs_with_heavy_packages_blocked() -> None:
    script = SCRIPT.format(blocked=BLOCKED)
    result = subprocess.run(  # the committed export: this test itself needs no torch
        [sys.executable, "-c", script, str(EXPORT)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(2, 32) float32 []"


@pytest.mark.slow
def test_the_blocker_really_blocks() -> None:
    script = SCRIPT.format(blocked=BLOCKED).replace(
        "from edgembed.runtime import OnnxEmbedder", "import sentence_transformers"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, "unused"], capture_output=True, text=True, check=False
    )
    assert result.returncode != 0 and "blocked in this test" in result.stderr
