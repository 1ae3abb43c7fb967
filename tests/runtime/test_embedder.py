"""OnnxEmbedder on a real export: shapes, order, batching, tokenization, and refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edgembed.errors import ConfigError, InputError, ManifestError
from edgembed.formats.manifest import MANIFEST_NAME, read_manifest, sha256_file
from edgembed.runtime import OnnxEmbedder
from edgembed.runtime.onnx_model import _at_least, length_batches

TEXTS = [
    "a short one",
    "a somewhat longer sentence about leave policies and how to request time off",
    "",
    "numbers 12 345 and symbols #@!",
    "word " * 300,
]


@pytest.fixture(scope="module")
def embedder(tiny_export: Path) -> OnnxEmbedder:
    return OnnxEmbedder(tiny_export, variant="fp32", threads=1)


def test_properties_come_from_the_manifest(embedder: OnnxEmbedder) -> None:
    assert (embedder.dimension, embedder.max_seq_length) == (32, 128)
    assert (embedder.model_name, embedder.vocab_size) == ("tiny-golden", 1607)


def test_embeddings_are_normalised_float32_in_input_order(embedder: OnnxEmbedder) -> None:
    out = embedder.embed(TEXTS, batch_size=2)
    assert out.shape == (len(TEXTS), 32) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    one_by_one = np.concatenate([embedder.embed([t]) for t in TEXTS])
    np.testing.assert_allclose(out, one_by_one, atol=1e-5)
    reversed_out = embedder.embed(TEXTS[::-1], batch_size=32)
    np.testing.assert_allclose(reversed_out[::-1], out, atol=1e-5)


def test_embed_ids_matches_embed(embedder: OnnxEmbedder) -> None:
    ids = embedder.tokenize(TEXTS)
    np.testing.assert_allclose(
        embedder.embed_ids(ids, batch_size=3), embedder.embed(TEXTS), atol=1e-6
    )


def test_release_memory_keeps_the_vectors(embedder: OnnxEmbedder) -> None:
    before = embedder.embed(TEXTS)
    embedder.release_memory()
    np.testing.assert_allclose(embedder.embed(TEXTS), before, atol=1e-6)


def test_empty_input_gives_an_empty_matrix(embedder: OnnxEmbedder) -> None:
    assert embedder.embed([]).shape == (0, 32)
    assert embedder.tokenize([]) == []


def test_tokenize_adds_special_tokens_and_truncates(embedder: OnnxEmbedder) -> None:
    short, long = embedder.tokenize(["hello world", "word " * 300])
    assert short[0] == 2 and short[-1] == 3  # [CLS] ... [SEP] of the trimmed vocabulary
    assert len(long) == 128 and long[-1] == 3
    with pytest.raises(InputError, match="input 1 has 302 tokens.*at most 128"):
        embedder.tokenize(["fine", "word " * 300], truncate=False)
    assert embedder.tokenize(["fine"], truncate=False) == embedder.tokenize(["fine"])


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        ([[101, 102], []], "input 1 is an empty"),
        ([[101] * 129], "129 tokens"),
        ([[2, 1607, 3]], "outside 0..1606"),
        ([[101, -1, 102]], "outside"),
    ],
)
def test_embed_ids_refuses_bad_sequences(
    embedder: OnnxEmbedder, ids: list[list[int]], message: str
) -> None:
    with pytest.raises(InputError, match=message):
        embedder.embed_ids(ids)


def test_bad_arguments(tiny_export: Path, embedder: OnnxEmbedder) -> None:
    with pytest.raises(ConfigError, match="variant"):
        OnnxEmbedder(tiny_export, variant="fp16")
    with pytest.raises(ConfigError, match="threads"):
        OnnxEmbedder(tiny_export, threads=0)
    with pytest.raises(ConfigError, match="batch_size"):
        embedder.embed(["x"], batch_size=0)


def test_int8_is_the_default_and_close_to_fp32(tiny_export: Path, embedder: OnnxEmbedder) -> None:
    int8 = OnnxEmbedder(tiny_export)
    assert int8.variant == "int8"
    cosine = (int8.embed(TEXTS) * embedder.embed(TEXTS)).sum(axis=1)
    assert cosine.min() > 0.99


def test_tampered_model_is_refused(export_copy: Path) -> None:
    with (export_copy / "model.int8.onnx").open("ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(ManifestError, match="does not match the sha256"):
        OnnxEmbedder(export_copy)
    OnnxEmbedder(export_copy, variant="fp32")  # the untouched variant still loads


def test_tampered_tokenizer_is_refused(export_copy: Path) -> None:
    path = export_copy / "tokenizer.json"
    path.write_text(path.read_text().replace("[CLS]", "[XLS]"))
    with pytest.raises(ManifestError, match="tokenizer.json does not match"):
        OnnxEmbedder(export_copy, variant="fp32")


def test_corrupted_onnx_with_matching_checksum_is_refused(export_copy: Path) -> None:
    model = export_copy / "model.onnx"
    model.write_bytes(b"this is not a protobuf" * 100)
    data = json.loads((export_copy / MANIFEST_NAME).read_text())
    data["files"]["model.onnx"].update(sha256=sha256_file(model), bytes=model.stat().st_size)
    (export_copy / MANIFEST_NAME).write_text(json.dumps(data))
    with pytest.raises(ManifestError, match="onnxruntime cannot load"):
        OnnxEmbedder(export_copy, variant="fp32")


def test_missing_files_and_folders_are_refused(export_copy: Path, tmp_path: Path) -> None:
    (export_copy / "model.int8.onnx").unlink()
    with pytest.raises(ManifestError, match="missing: the export is incomplete"):
        OnnxEmbedder(export_copy)
    (export_copy / MANIFEST_NAME).unlink()
    with pytest.raises(ManifestError, match="no manifest.json"):
        OnnxEmbedder(export_copy, variant="fp32")
    with pytest.raises(ManifestError, match="does not exist"):
        OnnxEmbedder(tmp_path / "no-such-export")


def test_graph_that_disagrees_with_the_manifest_is_refused(export_copy: Path) -> None:
    data = json.loads((export_copy / MANIFEST_NAME).read_text())
    data["inputs"] = ["input_ids", "attention_mask"]
    (export_copy / MANIFEST_NAME).write_text(json.dumps(data))
    assert read_manifest(export_copy).inputs == ("input_ids", "attention_mask")
    with pytest.raises(ManifestError, match="manifest.json says"):
        OnnxEmbedder(export_copy, variant="fp32")


def test_batches_hold_sequences_of_similar_length() -> None:
    assert list(length_batches([5, 100, 6, 7, 201, 8], 32)) == [[0, 2, 3, 5], [1], [4]]
    assert list(length_batches([3] * 5, 2)) == [[0, 1], [2, 3], [4]]
    assert list(length_batches([], 4)) == []


def test_long_texts_are_never_padded_when_the_export_skips_their_mask() -> None:
    # From 64 tokens on, one length per batch; shorter texts pad a little, and no batch
    # holds texts from both sides.
    lengths = [5, 64, 6, 70, 64, 63, 70, 71]
    assert list(length_batches(lengths, 32, 4096, unpadded_from=64)) == [
        [0, 2], [5], [1, 4], [3, 6], [7]
    ]  # fmt: skip
    assert list(length_batches(lengths, 32, 4096)) == [[0, 2], [5, 1, 4, 3, 6, 7]]


def test_batches_are_cut_at_the_call_token_budget() -> None:
    # 8 sequences of 128 tokens: 1024 padded tokens a call, so two calls of 4 at 512.
    assert list(length_batches([128] * 8, 32, 512)) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    # A sequence longer than the budget still goes, alone.
    assert list(length_batches([600, 10], 32, 512)) == [[1], [0]]


def test_call_token_budget_does_not_change_the_vectors(tiny_export: Path) -> None:
    texts = [f"sentence number {i} about policies" * (1 + i % 3) for i in range(12)]
    whole = OnnxEmbedder(tiny_export, variant="fp32", call_tokens=100_000).embed(texts)
    cut = OnnxEmbedder(tiny_export, variant="fp32", call_tokens=16).embed(texts)
    np.testing.assert_allclose(whole, cut, atol=1e-5)
    with pytest.raises(ConfigError, match="call_tokens"):
        OnnxEmbedder(tiny_export, call_tokens=0)


@pytest.mark.parametrize("variant", ["fp32", "int8"])
def test_lanes_give_the_vectors_of_calls_in_sequence(tiny_export: Path, variant: str) -> None:
    texts = [f"sentence number {i} about policies" * (1 + i % 3) for i in range(24)]
    in_sequence = OnnxEmbedder(tiny_export, variant=variant, threads=1, call_tokens=64)
    assert in_sequence._lanes is None  # one thread: nothing to share out
    lanes = OnnxEmbedder(tiny_export, variant=variant, threads=2, call_tokens=64)
    assert lanes._lanes is not None and lanes._lanes.sessions == []  # made on first use
    np.testing.assert_array_equal(lanes.embed(texts[:1]), in_sequence.embed(texts[:1]))
    assert lanes._lanes.sessions == []  # one sequence: the model's own session
    np.testing.assert_array_equal(lanes.embed(texts), in_sequence.embed(texts))
    assert len(lanes._lanes.sessions) == 1  # one thread a lane: one shared session
    lanes.release_memory()
    np.testing.assert_array_equal(lanes.embed(texts), in_sequence.embed(texts))


def test_lanes_with_several_threads_each_get_a_session(tiny_export: Path) -> None:
    texts = [f"sentence number {i} about policies" * (1 + i % 3) for i in range(24)]
    model = OnnxEmbedder(tiny_export, variant="fp32", threads=4, call_tokens=64)
    assert model._lanes is not None and model._lanes.lane_threads == 2
    reference = OnnxEmbedder(tiny_export, variant="fp32", threads=1).embed(texts)
    np.testing.assert_allclose(model.embed(texts), reference, atol=1e-6)
    assert len(model._lanes.sessions) == 2


def test_a_small_batch_is_halved_to_run_on_both_lanes(tiny_export: Path) -> None:
    texts = ["how many PTO days carry over?", "who approves leave?", "parking", "VPN setup"]
    reference = OnnxEmbedder(tiny_export, variant="int8", threads=1).embed(texts)
    model = OnnxEmbedder(tiny_export, variant="int8", threads=2)  # all four fit one call
    np.testing.assert_allclose(model.embed(texts), reference, atol=1e-6)
    assert model._lanes is not None and len(model._lanes.sessions) == 1
    assert _at_least(2, [[0, 1, 2, 3]]) == [[0, 1], [2, 3]]
    assert _at_least(2, [[0], [1, 2]]) == [[0], [1, 2]]
    assert _at_least(3, [[0], [1, 2, 3]]) == [[0], [1], [2, 3]]
    assert _at_least(2, [[5]]) == [[5]]
