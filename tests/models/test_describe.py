"""Describing a model folder without loading it: pooling in both config layouts, prompts,
kinds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgembed.errors import ModelError
from edgembed.models import describe_model, read_pooling
from tests.zoo import ZOO

POOLING_MODULE = [{"idx": 1, "name": "1", "path": "1_Pooling", "type": "x.models.Pooling"}]


def _pooling_folder(tmp_path: Path, config: dict[str, object]) -> Path:
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps(config))
    return tmp_path


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"embedding_dimension": 32, "pooling_mode": "cls"}, "cls"),
        ({"embedding_dimension": 32, "pooling_mode": "mean"}, "mean"),
        ({"embedding_dimension": 32, "pooling_mode": ["mean"]}, "mean"),
        ({"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False}, "cls"),
        ({"pooling_mode_cls_token": False, "pooling_mode_mean_tokens": True}, "mean"),
    ],
)
def test_read_pooling_understands_new_and_old_layouts(
    tmp_path: Path, config: dict[str, object], expected: str
) -> None:
    assert read_pooling(_pooling_folder(tmp_path, config), POOLING_MODULE) == (expected, True)


@pytest.mark.parametrize(
    "config",
    [
        {"pooling_mode": ["mean", "cls"]},
        {"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": True},
        {},
    ],
)
def test_read_pooling_refuses_more_or_fewer_than_one_mode(
    tmp_path: Path, config: dict[str, object]
) -> None:
    with pytest.raises(ModelError, match="pool one way"):
        read_pooling(_pooling_folder(tmp_path, config), POOLING_MODULE)


def test_read_pooling_reads_every_mode_and_the_prompt_setting(tmp_path: Path) -> None:
    config = {"pooling_mode": "lasttoken", "include_prompt": False}
    assert read_pooling(_pooling_folder(tmp_path, config), POOLING_MODULE) == ("lasttoken", False)


def test_read_pooling_needs_a_pooling_module(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="0 Pooling modules"):
        read_pooling(tmp_path, [{"path": "", "type": "x.Transformer"}])


@pytest.mark.slow
@pytest.mark.parametrize("name", list(ZOO))
def test_every_zoo_model_is_described_as_built(name: str, zoo_models: dict[str, Path]) -> None:
    zoo, model = ZOO[name], describe_model(zoo_models[name])
    assert model.architecture == zoo.family
    if zoo.kind == "cross-encoder":
        assert (model.kind, model.dimension, model.activation) == ("reranker", 1, "sigmoid")
        return
    assert (model.kind, model.pooling, model.dimension) == ("embedder", zoo.pooling, zoo.dimension)
    assert {k: v for k, v in model.prompts.items() if v} == {
        k: v for k, v in zoo.prompts.items() if v
    }
    assert model.padding_side == zoo.padding_side and model.parameters > 0


def _hf_folder(
    tmp_path: Path, config: dict[str, object], st: dict[str, object] | None = None
) -> Path:
    (tmp_path / "config.json").write_text(
        json.dumps({"model_type": "bert", "hidden_size": 8, **config})
    )
    if st is not None:
        (tmp_path / "config_sentence_transformers.json").write_text(json.dumps(st))
    return tmp_path


def test_a_sequence_classifier_with_one_label_is_a_reranker(tmp_path: Path) -> None:
    folder = _hf_folder(
        tmp_path,
        {"architectures": ["BertForSequenceClassification"], "id2label": {"0": "LABEL_0"}},
        {"model_type": "CrossEncoder", "activation_fn": "torch.nn.modules.linear.Identity"},
    )
    model = describe_model(folder)
    assert (model.kind, model.activation, model.max_seq_length) == ("reranker", "identity", 512)


def test_a_classifier_with_several_labels_is_refused(tmp_path: Path) -> None:
    folder = _hf_folder(
        tmp_path,
        {"architectures": ["BertForSequenceClassification"], "id2label": {"0": "a", "1": "b"}},
    )
    with pytest.raises(ModelError, match="2 labels.*one relevance score"):
        describe_model(folder)


def test_prompt_names_map_to_input_types(tmp_path: Path) -> None:
    (tmp_path / "modules.json").write_text(json.dumps(POOLING_MODULE))
    _pooling_folder(tmp_path, {"pooling_mode": "mean"})
    folder = _hf_folder(
        tmp_path,
        {},
        {"prompts": {"search_query": "search_query: ", "search_document": "search_document: "}},
    )
    model = describe_model(folder)
    assert (model.query_prompt, model.document_prompt) == ("search_query", "search_document")
    assert model.prompt_text("document") == "search_document: "
    assert model.resolve_prompt() is None  # no default prompt


def test_the_newest_model_is_the_newest_embedder_unless_a_reranker_is_asked_for(
    tmp_path: Path, tiny_mean_model: Path, zoo_models: dict[str, Path]
) -> None:
    import os
    import shutil

    from edgembed.models.find import newest_model
    from edgembed.workspace import Workspace

    workspace = Workspace(tmp_path / "ws")
    with pytest.raises(ModelError, match="no trained model"):
        newest_model(workspace)
    for age, (name, source) in enumerate(
        [("reranker", zoo_models["cross-encoder"]), ("embedder", tiny_mean_model)]
    ):
        shutil.copytree(source, workspace.models / name)
        os.utime(workspace.models / name, (1000 + age, 1000 + age))
    (workspace.models / "notes").mkdir()  # not a model: passed over
    os.utime(workspace.models / "reranker", (5000, 5000))  # trained last
    assert newest_model(workspace) == workspace.models / "embedder"
    assert newest_model(workspace, "reranker") == workspace.models / "reranker"
