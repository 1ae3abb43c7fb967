"""The embedding models teams bring, used the way their authors meant: every family of the zoo
(tests/zoo.py) exports with fp32 parity to sentence-transformers, prompts included, and the
runtime gives each input type the prompt sentence-transformers gives it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from edgembed.config import ExportConfig
from edgembed.errors import ExportError
from edgembed.exporter import ExportResult, export_model
from edgembed.runtime import OnnxEmbedder
from edgembed.workspace import Workspace
from tests.zoo import ZOO

pytestmark = pytest.mark.slow

EMBEDDERS = [name for name, model in ZOO.items() if model.kind == "sentence-transformer"]
TEXTS = [
    "How many vacation days can I carry over into next year?",
    "VPN setup",
    "Submit your expense report within thirty days of the purchase, or ask your manager first.",
    "the quick brown fox jumps over the lazy dog " * 20,  # over the window: truncated alike
]


@pytest.fixture(scope="module")
def exports(
    zoo_models: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, ExportResult]:
    workspace = Workspace(tmp_path_factory.mktemp("families-ws"))
    return {
        name: export_model(ExportConfig(model=str(zoo_models[name])), workspace)
        for name in EMBEDDERS
    }


def _st(folder: Path) -> Any:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(folder), device="cpu", local_files_only=True)


def _cosines(a: NDArray[np.float32], b: NDArray[np.float32]) -> NDArray[np.float32]:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    cosines: NDArray[np.float32] = (a * b).sum(axis=1)
    return cosines


@pytest.mark.parametrize("name", EMBEDDERS)
def test_every_family_exports_as_its_authors_meant(
    name: str, zoo_models: dict[str, Path], exports: dict[str, ExportResult]
) -> None:
    zoo, result = ZOO[name], exports[name]
    model = result.manifest.model
    assert (model.architecture, model.pooling) == (zoo.family, zoo.pooling)
    assert {k: v for k, v in model.prompts.items() if v} == {
        k: v for k, v in zoo.prompts.items() if v
    }
    assert model.dimension == zoo.dimension and model.padding_side == zoo.padding_side
    st = _st(zoo_models[name])
    fp32 = OnnxEmbedder(result.out, variant="fp32")
    for input_type in ("query", "document", None):
        prompt = model.prompt_text(input_type)
        expected = st.encode(TEXTS, prompt=prompt, normalize_embeddings=True)
        got = fp32.embed(TEXTS, input_type=input_type)
        assert _cosines(got, expected).min() >= 0.9999, (name, input_type)
    if result.int8_kept:
        int8 = OnnxEmbedder(result.out, variant="int8")
        expected = st.encode(TEXTS, prompt=model.prompt_text("query"), normalize_embeddings=True)
        assert _cosines(int8.embed(TEXTS, input_type="query"), expected).min() >= 0.99


@pytest.mark.parametrize("name", [n for n in EMBEDDERS if any(ZOO[n].prompts.values())])
def test_a_model_with_prompts_is_served_with_them(
    name: str, zoo_models: dict[str, Path], exports: dict[str, ExportResult]
) -> None:
    """Without its prompt a query gets another vector: the check above could fail."""
    fp32 = OnnxEmbedder(exports[name].out, variant="fp32")
    with_prompt = fp32.embed(TEXTS, input_type="query")
    without = fp32.embed(TEXTS, prompt_name=None)
    assert _cosines(with_prompt, without).min() < 0.99


def test_a_prompt_longer_than_the_window_is_refused(
    zoo_models: dict[str, Path], tmp_path: Path
) -> None:
    config = ExportConfig(model=str(zoo_models["qwen3-lasttoken"]), max_seq_length=12)
    with pytest.raises(ExportError, match="prompt 'query' takes .* of its 12-token window"):
        export_model(config, Workspace(tmp_path))
    assert not (tmp_path / "exports").exists() or not any((tmp_path / "exports").iterdir())
