"""Chunk sizes follow the model: its window, its document prompt and its tokenizer."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from edgembed.cli.main import cli
from edgembed.models import resolve_model
from edgembed.models.window import (
    DEFAULT_CHUNK_WORDS,
    MAX_CHUNK_WORDS,
    MINILM_REFERENCE_TOKENS,
    chunk_words_for,
    reference_tokens,
)


def test_minilm_keeps_the_measured_200_words() -> None:
    minilm = resolve_model("bundled:all-MiniLM-L6-v2")
    assert reference_tokens(minilm) == MINILM_REFERENCE_TOKENS
    assert chunk_words_for("bundled:all-MiniLM-L6-v2") == DEFAULT_CHUNK_WORDS


def _with_window(tmp_path: Path, window: int, prompts: dict[str, str] | None = None) -> Path:
    folder = tmp_path / f"minilm-{window}"
    shutil.copytree(resolve_model("bundled:all-MiniLM-L6-v2"), folder)
    config = folder / "sentence_bert_config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "max_seq_length": window}))
    if prompts is not None:
        (folder / "config_sentence_transformers.json").write_text(json.dumps({"prompts": prompts}))
    return folder


def test_a_window_scales_the_chunks_up_to_a_cap(tmp_path: Path) -> None:
    assert chunk_words_for(_with_window(tmp_path, 128)) == 100
    assert chunk_words_for(_with_window(tmp_path, 384)) == 300
    assert chunk_words_for(_with_window(tmp_path, 8192)) == MAX_CHUNK_WORDS


def test_a_document_prompt_takes_its_room(tmp_path: Path) -> None:
    prompted = _with_window(tmp_path, 256, {"query": "query: ", "document": "passage: "})
    assert 190 <= chunk_words_for(prompted) < DEFAULT_CHUNK_WORDS


def test_a_model_that_cannot_be_read_keeps_the_default(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert chunk_words_for(tmp_path / "missing") == DEFAULT_CHUNK_WORDS
    assert "using 200 words" in caplog.text


def test_chunk_sizes_its_chunks_for_the_model_named(tmp_path: Path, make_docs: object) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    paragraph = " ".join(f"Rule {i} says step {i} needs a signed form." for i in range(60))
    (docs / "policy.md").write_text(f"# Policy\n\n{paragraph}\n")
    small = _with_window(tmp_path, 128)
    result = CliRunner().invoke(
        cli, ["--workspace", str(tmp_path / "ws"), "chunk", str(docs), "--chunk-model", str(small)]
    )
    assert result.exit_code == 0, result.output
    rows = [
        json.loads(line) for line in (tmp_path / "ws" / "chunks.jsonl").read_text().splitlines()
    ]
    assert max(row["words"] for row in rows) <= 120 and len(rows) >= 4
