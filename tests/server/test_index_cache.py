"""serve --corpus keeps the passages' vectors on disk: a restart with the same export and corpus
reads them instead of embedding every passage again; anything else embeds anew."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from edgembed.corpus import Chunk
from edgembed.server.search import CorpusSearch, SearchModel, index_key
from tests.conftest import TINY_EXPORT


def _chunks(texts: list[str]) -> list[Chunk]:
    return [
        Chunk(id=f"c{i}", doc="d.md", title="D", section="S", text=t, words=2, position=i)
        for i, t in enumerate(texts)
    ]


class _Counting:
    """A model that embeds by hashing, counting the passages it was asked for."""

    def __init__(self) -> None:
        self.embedded = 0

    async def __call__(self, texts: list[str], input_type: str) -> NDArray[np.float32]:
        self.embedded += len(texts) if input_type == "document" else 0
        rng = [np.random.default_rng(abs(hash(t)) % 2**32) for t in texts]
        return np.stack([r.standard_normal(8) for r in rng]).astype(np.float32)


def _index(folder: Path, texts: list[str], key: str | None = "model-a") -> tuple[int, CorpusSearch]:
    embed = _Counting()
    search = CorpusSearch(
        _chunks(texts), [SearchModel("m", "served", embed, key=key)], index_dir=folder
    )
    asyncio.run(search.index())
    return embed.embedded, search


TEXTS = ["reset a password", "the vpn token", "printers on floor two"]


def test_a_restart_reads_the_vectors_instead_of_embedding(tmp_path: Path) -> None:
    first, search = _index(tmp_path / "index", TEXTS)
    assert first == 3
    again, restarted = _index(tmp_path / "index", TEXTS)
    assert again == 0
    assert np.array_equal(restarted.models[0].vectors, search.models[0].vectors)
    assert [p.suffix for p in (tmp_path / "index").iterdir()] == [".npy"]  # no temporary left


def test_another_model_or_corpus_embeds_anew(tmp_path: Path) -> None:
    _index(tmp_path / "index", TEXTS)
    assert _index(tmp_path / "index", TEXTS, key="model-b")[0] == 3
    assert _index(tmp_path / "index", [*TEXTS[:2], "printers on floor three"])[0] == 3
    assert _index(tmp_path / "index", TEXTS, key=None)[0] == 3  # no key: never cached


def test_a_damaged_file_is_embedded_again(tmp_path: Path) -> None:
    _, search = _index(tmp_path / "index", TEXTS)
    (stored,) = (tmp_path / "index").iterdir()
    stored.write_bytes(b"not numpy")
    assert _index(tmp_path / "index", TEXTS)[0] == 3
    np.save(stored, np.zeros((2, 8), np.float32))  # a vector short
    assert _index(tmp_path / "index", TEXTS)[0] == 3


def test_a_file_in_the_way_of_the_folder_only_costs_the_cache(tmp_path: Path) -> None:
    (tmp_path / "index").write_text("a file, not a folder")
    embedded, search = _index(tmp_path / "index", TEXTS)
    assert embedded == 3 and search.indexed


def test_the_key_names_the_model_file_its_variant_and_the_document_prompt() -> None:
    from edgembed.runtime import OnnxEmbedder

    fp32, int8 = (OnnxEmbedder(TINY_EXPORT, variant=v) for v in ("fp32", "int8"))
    assert index_key(fp32) != index_key(int8)
    assert index_key(fp32) == index_key(OnnxEmbedder(TINY_EXPORT, variant="fp32"))
    assert fp32.manifest.model_file("fp32").sha256 in (index_key(fp32) or "")
