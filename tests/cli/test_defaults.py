"""The CLI's defaults are the configs' defaults: a recipe change made in one place and not
the other would make `edgembed train` and `TrainConfig()` train differently."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import click
import pytest

from edgembed.cli.chunk import chunk_config
from edgembed.cli.main import cli
from edgembed.config import ChunkConfig, GenerateConfig, TrainConfig
from edgembed.models import BUNDLED_MINILM

# Left unset, these follow the model the chunks are for (edgembed.models.window).
SIZED_FOR_THE_MODEL = {"chunk_words", "overlap_words"}


@pytest.mark.parametrize(
    ("command", "configs"),
    [("train", (TrainConfig,)), ("generate", (GenerateConfig, ChunkConfig))],
)
def test_option_defaults_match_the_config_defaults(
    command: str, configs: tuple[type[Any], ...]
) -> None:
    defaults = {
        f.name: f.default
        for config in configs
        for f in dataclasses.fields(config)
        if f.default is not dataclasses.MISSING
    }
    found = cli.get_command(click.Context(cli), command)
    assert found is not None
    compared = 0
    for param in found.params:
        if param.name not in defaults or param.name in SIZED_FOR_THE_MODEL:
            continue
        default = param.get_default(click.Context(found))
        if default is None and getattr(param, "is_flag", False):
            default = False  # a flag left unset is off
        assert default == defaults[param.name], f"{command} --{param.name}"
        compared += 1
    assert compared >= 10  # the options that carry the recipe are compared, not skipped


def test_chunk_sizes_left_unset_are_the_configs_for_the_bundled_model() -> None:
    options = {"chunk_words": None, "overlap_words": None, "chunk_model": BUNDLED_MINILM}
    assert chunk_config(Path("docs"), options) == ChunkConfig(docs=Path("docs"))
