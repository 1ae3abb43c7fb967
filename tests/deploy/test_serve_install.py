"""`pip install edgembed[serve]` alone, in a fresh virtual environment: no torch, and it serves an
export made with the `train` extra."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.deploy.conftest import serving
from tests.server.live import free_port

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "transformers", "optimum", "sentence_transformers")


@pytest.fixture(scope="module")
def serve_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with `edgembed[serve]` installed from a copy of the working tree (not editable)."""
    root = tmp_path_factory.mktemp("serve-install")
    source = root / "src"
    shutil.copytree(
        REPO / "edgembed", source / "edgembed", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [venv / "bin/python", "-m", "pip", "install", "--quiet", f"{source}[serve]"],
        check=True,
        timeout=600,
    )
    return venv


def test_serve_extra_has_no_torch(serve_venv: Path) -> None:
    probe = f"import importlib.util as u; print([m for m in {HEAVY!r} if u.find_spec(m)])"
    found = subprocess.run(
        [serve_venv / "bin/python", "-c", probe], check=True, capture_output=True, text=True
    )
    assert found.stdout.strip() == "[]"
    refused = subprocess.run(
        [serve_venv / "bin/python", "-c", "import torch"], capture_output=True, text=True
    )
    assert refused.returncode != 0
    assert "No module named 'torch'" in refused.stderr


def test_serves_an_export_made_by_the_train_extra(serve_venv: Path, real_export: Path) -> None:
    import openai

    from edgembed.runtime import OnnxEmbedder

    texts = ["How do I reset my password?", "Expenses are refunded within 30 days."]
    port = free_port()
    command = [str(serve_venv / "bin/edgembed"), "serve", str(real_export), "--port", str(port)]
    with serving(command, port) as server:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)
        response = client.embeddings.create(model="tiny-golden", input=texts)
        assert server.stop()
    got = np.array([item.embedding for item in response.data], dtype=np.float32)
    expected = OnnxEmbedder(real_export, variant="int8").embed(texts)
    np.testing.assert_allclose(got, expected, atol=1e-4)
