"""A cross-encoder exported as a reranker: the scores CrossEncoder.predict gives, in fp32 and
(where the gate allows) int8, the gate judged on reranking, the manifest and its checksums;
served alone or beside an embedder, and called with the real Cohere SDK."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edgembed.config import ExportConfig
from edgembed.corpus import Chunk, write_chunks
from edgembed.errors import ManifestError
from edgembed.exporter import ExportResult, export_model
from edgembed.formats.pairs import Pair, write_pairs
from edgembed.runtime import OnnxEmbedder, OnnxReranker
from edgembed.runtime.onnx_model import OnnxModel
from edgembed.workspace import Workspace
from tests.conftest import TINY_EXPORT
from tests.server.live import live_server

pytestmark = pytest.mark.slow

QUERY = "do unused vacation days carry over"
DOCS = [
    "Travel is booked in the portal at least fourteen days ahead.",
    "Unused vacation days carry over until March, five at most.",
    "Multi-factor authentication is required on every account.",
    "the quick brown fox " * 100,  # over the window: the document's end is cut, as CE cuts it
]
TOPICS = [
    "Up to five unused PTO days roll over into the next year.",
    "The travel per diem is seventy-five dollars a day for meals.",
    "Book flights in the travel portal at least fourteen days ahead.",
    "Multi-factor authentication is required on every company account.",
    "Remote employees get a one-time home office stipend of 500 dollars.",
    "Core hours for remote work are ten to three in your time zone.",
]
ASKED = ["can I keep leftover days", "meal money on trips", "when to book flights",
         "two factor login", "money for a home desk", "hours online from home"]  # fmt: skip


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    ws = Workspace(tmp_path_factory.mktemp("rerank-ws"))
    chunks = [Chunk(f"c{i}", "hr.md", "HR", "", t, len(t.split()), i) for i, t in enumerate(TOPICS)]
    write_chunks(ws.chunks, chunks)
    pairs = [
        Pair(q, c.id, c.text, "hr.md", "question", "t", "none")
        for q, c in zip(ASKED, chunks, strict=True)
    ]
    write_pairs(ws.pairs_eval, pairs)
    return ws


@pytest.fixture(scope="module")
def exported(zoo_models: dict[str, Path], workspace: Workspace) -> ExportResult:
    return export_model(ExportConfig(model=str(zoo_models["cross-encoder"])), workspace)


def _predict(folder: Path, query: str, documents: list[str]) -> Any:
    from sentence_transformers import CrossEncoder

    model = CrossEncoder(str(folder), device="cpu", local_files_only=True)
    return np.asarray(model.predict([(query, d) for d in documents]))


def test_the_export_is_a_reranker_with_its_scores(
    exported: ExportResult, zoo_models: dict[str, Path]
) -> None:
    manifest = exported.manifest
    assert manifest.kind == "reranker" and manifest.model.activation == "sigmoid"
    assert manifest.output == "scores" and manifest.dimension == 1
    assert exported.fp32.closeness >= 0.9999  # Pearson, every query, on the parity pairs
    parity = manifest.parity
    assert parity["texts"]["queries"] == len(ASKED) and parity["gate"]["metric"] == "ndcg_ratio"
    expected = _predict(zoo_models["cross-encoder"], QUERY, DOCS)
    got = OnnxReranker(exported.out, variant="fp32").score(QUERY, DOCS)
    assert np.corrcoef(got, expected)[0, 1] >= 0.9999
    assert np.abs(got - expected).max() < 1e-4  # the same activation: thresholds carry over
    if exported.int8_kept:
        int8 = OnnxReranker(exported.out, variant="int8").score(QUERY, DOCS)
        assert np.corrcoef(int8, expected)[0, 1] >= 0.99


def test_a_tampered_reranker_is_refused(exported: ExportResult, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(exported.out, copy)
    with (copy / "model.onnx").open("r+b") as handle:
        handle.seek(200)
        handle.write(b"\x00\x01\x02")
    with pytest.raises(ManifestError, match="sha256"):
        OnnxReranker(copy, variant="fp32")
    with pytest.raises(ManifestError, match="of kind 'reranker', not 'embedder'"):
        OnnxEmbedder(exported.out, variant="fp32")
    with pytest.raises(TypeError, match="base"):
        OnnxModel(exported.out, variant="fp32")


def test_the_cohere_sdk_reranks_against_edgembed(
    exported: ExportResult, zoo_models: dict[str, Path]
) -> None:
    cohere = pytest.importorskip("cohere")
    expected = _predict(zoo_models["cross-encoder"], QUERY, DOCS)
    with live_server(TINY_EXPORT, "--reranker", str(exported.out), "--variant", "fp32") as server:
        client = cohere.Client(base_url=server.url, api_key="unused")
        name = exported.manifest.name
        response = client.rerank(model=name, query=QUERY, documents=DOCS, return_documents=True)
        got = {r.index: r.relevance_score for r in response.results}
        assert np.allclose([got[i] for i in range(len(DOCS))], expected, atol=1e-4)
        assert response.results[0].document.text == DOCS[int(np.argmax(expected))]
        v2 = cohere.ClientV2(base_url=server.url, api_key="unused")
        top = v2.rerank(model=name, query=QUERY, documents=DOCS, top_n=2).results
        assert [r.index for r in top] == list(np.argsort(-expected)[:2])
        models = json.loads(_get(server.url + "/v1/models"))["data"]
        # The embedder (under its name and its versioned id), then the reranker.
        assert [(m["id"] == name, m["kind"]) for m in models][-1] == (True, "reranker")
        assert {m["kind"] for m in models[:-1]} == {"embedder"}
        _langchain_reranks(server.url, name, expected)


def _langchain_reranks(url: str, name: str, expected: Any) -> None:
    """LangChain's CohereRerank, pointed at the server, unmodified."""
    langchain_cohere = pytest.importorskip("langchain_cohere")
    from langchain_core.documents import Document

    reranker = langchain_cohere.CohereRerank(
        base_url=url, cohere_api_key="unused", model=name, top_n=2
    )
    kept = reranker.compress_documents([Document(page_content=d) for d in DOCS], QUERY)
    assert [d.page_content for d in kept] == [DOCS[i] for i in np.argsort(-expected)[:2]]
    scores = [d.metadata["relevance_score"] for d in kept]
    assert np.allclose(scores, np.sort(expected)[::-1][:2], atol=1e-4)


def _get(url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as response:
        return str(response.read().decode())
