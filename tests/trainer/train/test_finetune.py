from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from edgembed.cli.main import cli
from edgembed.config import TrainConfig
from edgembed.errors import ConfigError, InputError, ModelError, OutputExistsError
from edgembed.formats.training_record import TRAINING_RECORD
from edgembed.trainer.train.finetune import train_model
from edgembed.workspace import Workspace


def test_train_writes_model_metrics_and_card(workspace: Workspace, tiny_mean_model: Path) -> None:
    config = TrainConfig(
        base_model=str(tiny_mean_model), name="m", epochs=2, batch_size=4, device="cpu"
    )
    result = train_model(config, workspace)
    assert result.model_dir == workspace.models / "m"
    assert (result.model_dir / "modules.json").exists()
    metrics = json.loads((result.model_dir / TRAINING_RECORD).read_text())
    assert [round(e["epoch"]) for e in metrics["epochs"]] == [1, 2]
    assert metrics["best_ndcg_at_10"] == max(e[metrics["metric"]] for e in metrics["epochs"])
    assert metrics["data"] == {"chunks": 8, "train_pairs": 12, "eval_pairs": 2}
    assert metrics["finetuned_weight"] == TrainConfig().finetuned_weight
    assert metrics["saved_ndcg_at_10"] == metrics["saved"][metrics["metric"]]
    assert result.saved_ndcg_at_10 == metrics["saved_ndcg_at_10"]
    assert "MultipleNegativesRankingLoss" in (result.model_dir / "README.md").read_text()
    assert not list(workspace.models.glob(".*"))  # no staging folder left behind
    with pytest.raises(OutputExistsError, match="--force"):
        train_model(config, workspace)


def test_train_cls_model_with_hard_negatives_and_matryoshka(
    workspace: Workspace, tiny_cls_model: Path
) -> None:
    config = TrainConfig(
        base_model=str(tiny_cls_model),
        name="m",
        epochs=1,
        batch_size=4,
        hard_negatives=1,
        matryoshka_dims=(32, 16),
        loss="cached-mnrl",
        mini_batch_size=2,
        device="cpu",
    )
    result = train_model(config, workspace)
    card = (result.model_dir / "README.md").read_text()
    assert "MatryoshkaLoss(CachedMultipleNegativesRankingLoss" in card


def test_recomputed_activations_train_the_same_weights(
    workspace: Workspace, tiny_mean_model: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Gradient checkpointing (the default) saves memory, not maths: with the same seed the
    weights trained with and without it are the same, dropout masks included."""
    import torch

    from edgembed.models import load_sentence_transformer

    caplog.set_level("INFO", logger="edgembed")
    weights = {}
    for recompute in (True, False):
        config = TrainConfig(
            base_model=str(tiny_mean_model), name=f"m-{recompute}", epochs=1, batch_size=4,
            finetuned_weight=1.0, recompute_activations=recompute, device="cpu",
            attention_dropout=None,  # the model's own: attention's dropout masks too
        )  # fmt: skip
        train_model(config, workspace)
        model = load_sentence_transformer(str(workspace.models / config.name), "cpu")
        weights[recompute] = model.state_dict()
    assert "gradient checkpointing" in caplog.text
    base = load_sentence_transformer(str(tiny_mean_model), "cpu").state_dict()
    moved = [
        k for k, v in base.items() if v.is_floating_point() and not torch.equal(v, weights[True][k])
    ]
    assert moved  # it trained
    for name in moved:
        assert torch.allclose(weights[True][name], weights[False][name], atol=1e-6), name


def test_saved_weights_are_halfway_between_base_and_best(tiny_mean_model: Path) -> None:
    import torch

    from edgembed.models import load_sentence_transformer
    from edgembed.trainer.train.finetune import merge_with_base

    model = load_sentence_transformer(str(tiny_mean_model), "cpu")
    base = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        for tensor in model.parameters():
            tensor.add_(1.0)
    tuned = {k: v.clone() for k, v in model.state_dict().items()}
    merge_with_base(model, base, 0.25)
    merged = model.state_dict()
    floats = [k for k, v in base.items() if v.is_floating_point()]
    assert floats
    for name in floats:
        assert torch.allclose(merged[name], base[name] + 0.25 * (tuned[name] - base[name]))
    merge_with_base(model, base, 1.0)  # 1.0 leaves the model as it is
    assert all(torch.equal(model.state_dict()[k], merged[k]) for k in floats)


def test_train_without_pairs_says_run_generate(tmp_path: Path, tiny_mean_model: Path) -> None:
    with pytest.raises(InputError, match="edgembed"):
        train_model(TrainConfig(base_model=str(tiny_mean_model)), Workspace(tmp_path))


def test_unknown_model_is_a_clear_error(workspace: Workspace) -> None:
    with pytest.raises(ModelError, match="not in the local Hugging Face cache"):
        train_model(TrainConfig(base_model="nobody/no-such-model", device="cpu"), workspace)
    assert not (workspace.models / "edgembed-model").exists()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"epochs": 0},
        {"batch_size": 1},
        {"loss": "triplet"},
        {"name": "../x"},
        {"finetuned_weight": 0.0},
        {"finetuned_weight": 1.5},
    ],
)
def test_bad_config(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        TrainConfig(**kwargs)  # type: ignore[arg-type]


def test_train_cli(workspace: Workspace, tiny_mean_model: Path) -> None:
    args = ["--workspace", str(workspace.root), "train", "--base-model", str(tiny_mean_model)]
    args += ["--epochs", "1", "--batch-size", "4", "--device", "cpu", "--name", "cli"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "best NDCG@10" in result.output
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 1 and "--force" in again.output
    forced = CliRunner().invoke(cli, [*args, "--force"])
    assert forced.exit_code == 0, forced.output


def test_train_cli_bad_input(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--workspace", str(tmp_path), "train"])
    assert result.exit_code == 1 and "edgembed generate" in result.output
    result = CliRunner().invoke(cli, ["train", "--matryoshka", "a,b"])
    assert result.exit_code == 1 and "comma-separated" in result.output


def test_attention_dropout_applies_while_training_and_is_not_saved(
    workspace: Workspace, tiny_mean_model: Path
) -> None:
    """--attention-dropout 0 reaches the attention layers (the fused kernel's condition) and
    the saved model keeps its own dropout, for whoever trains it next."""
    from edgembed.models import load_sentence_transformer
    from edgembed.trainer.train.model_setup import attention_dropout

    own = json.loads((tiny_mean_model / "config.json").read_text())["attention_probs_dropout_prob"]
    assert own > 0
    assert attention_dropout(tiny_mean_model, None) == {}
    overrides = attention_dropout(tiny_mean_model, 0.0)
    assert overrides == {"attention_probs_dropout_prob": 0.0}
    model = load_sentence_transformer(str(tiny_mean_model), "cpu", overrides)
    layers = model[0].auto_model.encoder.layer
    assert [layer.attention.self.dropout_prob for layer in layers] == [0.0] * len(layers)
    config = TrainConfig(
        base_model=str(tiny_mean_model), name="m", epochs=1, batch_size=4,
        attention_dropout=0.0, device="cpu",
    )  # fmt: skip
    result = train_model(config, workspace)
    saved = json.loads((result.model_dir / "config.json").read_text())
    assert saved["attention_probs_dropout_prob"] == own
