"""The zoo of tiny models (tests/zoo.py) is fit for use: every model builds offline, loads, and
has the property it is there for, strongly enough that a test relying on it could fail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from tests.zoo import ZOO, build, byte_bpe_tokenizer, pooling_modes, unigram_tokenizer

pytestmark = pytest.mark.slow

TEXTS = [
    "How many vacation days can I carry over into next year?",
    "VPN setup",
    "Submit your expense report within thirty days of the purchase, or ask your manager first.",
]
# Below this cosine two embeddings of the same text count as different.
DIFFERENT = 0.99

SENTENCE_MODELS = [name for name, model in ZOO.items() if model.kind == "sentence-transformer"]


@pytest.fixture(scope="module")
def zoo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("zoo")


@pytest.fixture(scope="module")
def folders(zoo_root: Path) -> dict[str, Path]:
    """Every zoo model, built once for the module."""
    return {name: build(name, zoo_root) for name in ZOO}


def _cosines(a: NDArray[np.float32], b: NDArray[np.float32]) -> NDArray[np.float32]:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    cosines: NDArray[np.float32] = (a * b).sum(axis=1)
    return cosines


def _load(folder: Path) -> Any:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(folder), device="cpu", local_files_only=True)


@pytest.mark.parametrize("name", SENTENCE_MODELS)
def test_sentence_model_is_what_it_says(folders: dict[str, Path], name: str) -> None:
    spec = ZOO[name]
    model = _load(folders[name])
    assert [type(module).__name__ for module in model] == list(spec.modules)
    assert model[0].auto_model.config.model_type == spec.family
    assert pooling_modes(folders[name]) == [spec.pooling]
    assert model[1].pooling_mode == spec.pooling
    assert model.tokenizer.padding_side == spec.padding_side
    assert model.get_embedding_dimension() == spec.dimension
    embeddings = model.encode(TEXTS)
    assert embeddings.shape == (len(TEXTS), spec.dimension)
    assert np.isfinite(embeddings).all()


@pytest.mark.parametrize("name", SENTENCE_MODELS)
def test_a_text_embeds_the_same_alone_and_padded_in_a_batch(
    folders: dict[str, Path], name: str
) -> None:
    model = _load(folders[name])
    alone = np.stack([model.encode([text])[0] for text in TEXTS])
    assert _cosines(alone, model.encode(TEXTS)).min() > 0.9999


@pytest.mark.parametrize("name", [n for n in SENTENCE_MODELS if ZOO[n].prompts])
def test_prompts_are_saved_and_change_the_query_vector(folders: dict[str, Path], name: str) -> None:
    spec = ZOO[name]
    config = json.loads((folders[name] / "config_sentence_transformers.json").read_text())
    assert config["prompts"] == dict(spec.prompts)
    assert config["default_prompt_name"] is None
    model = _load(folders[name])
    assert model.prompts == dict(spec.prompts)
    plain = model.encode(TEXTS)
    assert np.allclose(model.encode(TEXTS, prompt_name="document"), plain, atol=1e-6) == (
        spec.prompts["document"] == ""
    )
    assert _cosines(plain, model.encode(TEXTS, prompt_name="query")).max() < DIFFERENT


@pytest.mark.parametrize("name", SENTENCE_MODELS)
def test_the_pooling_matters(folders: dict[str, Path], name: str) -> None:
    """Another pooling over the same token embeddings gives clearly other vectors, so a graph
    that pooled the wrong way would fail a parity check."""
    model = _load(folders[name])
    pooling = model[1]
    intended = model.encode(TEXTS)
    other = "mean" if pooling.pooling_mode == "cls" else "cls"
    pooling.pooling_mode = other
    assert _cosines(intended, model.encode(TEXTS)).max() < DIFFERENT


def test_cross_encoder_is_a_reranker(folders: dict[str, Path]) -> None:
    from sentence_transformers import CrossEncoder

    folder = folders["cross-encoder"]
    assert pooling_modes(folder) == []
    config = json.loads((folder / "config_sentence_transformers.json").read_text())
    assert config["model_type"] == "CrossEncoder"
    model = CrossEncoder(str(folder), device="cpu", local_files_only=True)
    assert model.num_labels == 1
    scores = model.predict([(TEXTS[0], TEXTS[1]), (TEXTS[0], TEXTS[2]), (TEXTS[1], TEXTS[2])])
    assert scores.shape == (3,)
    assert np.isfinite(scores).all()
    assert np.ptp(scores) > 0.01


def test_trained_tokenizers_are_the_same_on_every_build() -> None:
    assert unigram_tokenizer().to_str() == unigram_tokenizer().to_str()
    bpe = [byte_bpe_tokenizer(["<|endoftext|>"], "$A <|endoftext|>", "$A $B") for _ in range(2)]
    assert bpe[0].to_str() == bpe[1].to_str()


def test_weights_are_the_same_on_every_build(folders: dict[str, Path], tmp_path: Path) -> None:
    again = build("xlmr-mean", tmp_path)
    for name in ("model.safetensors", "tokenizer.json"):
        assert (again / name).read_bytes() == (folders["xlmr-mean"] / name).read_bytes()


def test_unknown_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="known: bert-cls-prompts"):
        build("gpt-17", tmp_path)
