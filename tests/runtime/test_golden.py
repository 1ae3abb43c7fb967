"""The committed tiny export reproduces its PyTorch model's golden vectors, without torch.

tests/fixtures/tiny-export/ and tiny-golden.json come from tests/fixtures/make_tiny_export.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgembed.runtime import OnnxEmbedder

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
EXPORT = FIXTURES / "tiny-export"
GOLDEN = FIXTURES / "tiny-golden.json"


def assert_matches_golden(variant: str) -> None:
    """Embed the golden texts with `variant` of the committed export; compare with PyTorch's.

    fp32 must agree to float precision; int8 (its activations quantized per row) must keep a
    cosine of at least 0.99 to PyTorch on every text.
    """
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    expected = np.asarray(golden["embeddings"], dtype=np.float32)
    # int8 is checked on the CPU class the export validated it on: its figures differ a
    # little between int8 instruction sets, and the looser bound covers that.
    cpu = None
    if variant == "int8":
        cpu = (OnnxEmbedder(EXPORT, variant="fp32").manifest.int8_validated_isa or (None,))[0]
    got = OnnxEmbedder(EXPORT, variant=variant, cpu=cpu).embed(golden["texts"])
    assert got.shape == expected.shape
    if variant == "fp32":
        np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)
    else:
        cosines = np.sum(got * expected, axis=1)
        assert cosines.min() >= 0.99, cosines


def test_fp32_reproduces_pytorch() -> None:
    assert_matches_golden("fp32")


def test_int8_stays_close_to_pytorch() -> None:
    assert_matches_golden("int8")


def test_golden_texts_include_one_over_the_token_window() -> None:
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    embedder = OnnxEmbedder(EXPORT, variant="fp32")
    lengths = [len(ids) for ids in embedder.tokenize(golden["texts"], truncate=True)]
    assert max(lengths) == embedder.max_seq_length  # the truncation policy is covered too


@pytest.mark.slow
def test_golden_vectors_without_torch() -> None:
    script = (
        "import sys\n"
        "from tests.runtime.test_golden import assert_matches_golden\n"
        "assert_matches_golden('fp32')\n"
        "assert_matches_golden('int8')\n"
        "heavy = sorted(n for n in sys.modules if n.split('.')[0] in {'torch', 'transformers'})\n"
        "assert not heavy, heavy\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
