"""What differs between the kinds of model at export: how the model is loaded and traced, what
it is checked on, and how close to PyTorch it must be. `export.py` runs the same steps for both.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from edgembed.config import ExportConfig
from edgembed.errors import ExportError
from edgembed.exporter.int8_search import EmbedderJudge, Judge
from edgembed.exporter.onnx_export import (
    GraphInfo,
    export_onnx,
    export_reranker_onnx,
    write_tokenizer,
)
from edgembed.exporter.parity import Parity, check_fp32, reference_embeddings
from edgembed.exporter.parity_texts import load_parity_texts
from edgembed.exporter.rerank_parity import (
    RerankJudge,
    check_fp32_scores,
    load_rerank_texts,
    reference_scores,
)
from edgembed.exporter.source import SourceModel
from edgembed.models import ModelDescriptor, load_sentence_transformer
from edgembed.workspace import Workspace

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["KindExport", "check_prompts", "prepare"]

# Rerankers are checked on every candidate of each query: fewer queries keep the check short.
_RERANK_QUERIES = 100


class KindExport(Protocol):
    """One kind of model, loaded and ready to trace and check."""

    @property
    def judge(self) -> Judge:
        """How a variant is measured against PyTorch."""
        ...

    @property
    def texts_json(self) -> dict[str, Any]:
        """What the check runs on, for the manifest."""
        ...

    @property
    def pytorch_ndcg(self) -> float | None:
        """PyTorch's NDCG@10 on the check's questions (None without questions)."""
        ...

    def trace(self, fp32: Path, tokenizer: Path) -> GraphInfo:
        """Write the fp32 graph and the tokenizer.json; what the graph takes and gives."""
        ...

    def check_fp32(self, parity: Parity) -> None:
        """Raise ExportError when fp32 does not reproduce PyTorch."""
        ...


@dataclass
class _Embedder:
    model: SentenceTransformer
    source: SourceModel
    judge: EmbedderJudge
    texts_json: dict[str, Any]
    pytorch_ndcg: float | None

    def trace(self, fp32: Path, tokenizer: Path) -> GraphInfo:
        graph = export_onnx(self.model, fp32, add_normalize=not self.source.has_normalize)
        write_tokenizer(self.model, tokenizer)
        return graph

    def check_fp32(self, parity: Parity) -> None:
        check_fp32(parity)  # type: ignore[arg-type]


@dataclass
class _Reranker:
    model: Any
    source: SourceModel
    judge: RerankJudge
    texts_json: dict[str, Any]
    pytorch_ndcg: float | None

    def trace(self, fp32: Path, tokenizer: Path) -> GraphInfo:
        descriptor = self.source.descriptor
        graph = export_reranker_onnx(
            self.model, fp32, descriptor.activation, descriptor.max_seq_length
        )
        write_tokenizer(self.model, tokenizer)
        return graph

    def check_fp32(self, parity: Parity) -> None:
        check_fp32_scores(parity)  # type: ignore[arg-type]


def check_prompts(model: SentenceTransformer, descriptor: ModelDescriptor) -> None:
    """Every prompt must leave room for text in the model's window.

    Raises:
        ExportError: a prompt takes the whole window (or more); the message names it.
    """
    for name, prompt in descriptor.prompts.items():
        tokens = len(model.tokenizer(prompt)["input_ids"])
        if tokens >= descriptor.max_seq_length:
            raise ExportError(
                f"the model's prompt '{name}' takes {tokens} tokens of its "
                f"{descriptor.max_seq_length}-token window, leaving no room for text. Shorten "
                "the prompt in config_sentence_transformers.json, or export with a longer "
                "--max-seq-length."
            )


def _embedder(source: SourceModel, config: ExportConfig, workspace: Workspace) -> _Embedder:
    model = load_sentence_transformer(source.path, device="cpu")
    model.max_seq_length = source.descriptor.max_seq_length
    check_prompts(model, source.descriptor)
    texts = load_parity_texts(workspace, config.parity_texts, questions=config.questions)
    reference = reference_embeddings(model, texts, source.descriptor)
    texts_json = {
        "source": texts.source,
        "queries": len(texts.queries),
        "passages": len(texts.corpus),
        "short": len(texts.short),
    }
    return _Embedder(
        model, source, EmbedderJudge(reference, texts), texts_json, reference.ndcg_at_10
    )


def _reranker(source: SourceModel, config: ExportConfig, workspace: Workspace) -> _Reranker:
    try:
        from sentence_transformers import CrossEncoder
    except ImportError as exc:  # the train extra
        raise ExportError("exporting a reranker needs sentence-transformers") from exc
    model = CrossEncoder(
        str(source.path),
        device="cpu",
        max_length=source.descriptor.max_seq_length,
        local_files_only=True,
    )
    limit = min(config.parity_texts, _RERANK_QUERIES)
    texts = load_rerank_texts(workspace, limit, config.questions)
    reference = reference_scores(model, texts)
    texts_json = {
        "source": texts.source,
        "queries": len(texts.queries),
        "pairs": sum(len(c) for c in texts.candidates),
    }
    return _Reranker(model, source, RerankJudge(reference, texts), texts_json, reference.ndcg_at_10)


def prepare(source: SourceModel, config: ExportConfig, workspace: Workspace) -> KindExport:
    """Load the model the way its kind needs, with the texts it is checked on and PyTorch's
    answers to them."""
    if source.is_reranker:
        return _reranker(source, config, workspace)
    return _embedder(source, config, workspace)
