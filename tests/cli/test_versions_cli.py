"""`edgembed versions` and the client's version calls against a real server on 127.0.0.1."""

from __future__ import annotations

import numpy as np
from click.testing import CliRunner

from edgembed.cli.main import cli
from edgembed.client import EdgembedEmbeddings, model_name
from tests.server.fake import FakeEmbedder
from tests.server.threaded import threaded_server


def _run(url: str, *args: str) -> str:
    result = CliRunner().invoke(cli, ["versions", "--url", url, *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_list_switch_rollback_unload_from_the_command_line() -> None:
    with threaded_server(FakeEmbedder(), versions=[FakeEmbedder(version=2)]) as server:
        listing = _run(server.url)
        switched = _run(server.url, "default", "2")
        rolled = _run(server.url, "rollback")
        unloaded = _run(server.url, "unload", "2")
        refused = CliRunner().invoke(cli, ["versions", "--url", server.url, "unload", "1"])
    assert "fake-model@v1" in listing and "fake-model@v2" in listing
    assert "'fake-model' serves v1." in listing
    assert "'fake-model' serves v2." in switched and "'fake-model' serves v1." in rolled
    assert "fake-model@v2" not in unloaded
    assert refused.exit_code == 1 and "switch to another one first" in refused.output


def test_the_client_reembeds_with_a_version_then_switches() -> None:
    texts = ["reset your password", "the vpn token", "blue printers"]
    v2 = FakeEmbedder(version=2)
    with threaded_server(FakeEmbedder(), versions=[v2]) as server:
        client = EdgembedEmbeddings(server.url, batch_size=2)
        before = client.embed_query(texts[0])
        batches: list[int] = []
        vectors, pinned = client.reembed_and_switch(
            texts, 2, on_batch=lambda start, batch: batches.append(start)
        )
        after = client.embed_query(texts[0])
        default = client.versions()["default"]
    expected = v2.embed_ids(v2.tokenize(texts)).tolist()
    assert batches == [0, 2] and pinned.model == "fake-model@v2" and default == 2
    assert np.allclose(vectors, expected, atol=1e-6)
    assert np.allclose(after, expected[0], atol=1e-6)
    assert not np.allclose(before, expected[0], atol=1e-3)


def test_model_name_strips_version_and_input_type() -> None:
    assert model_name("m@v2:query") == "m" and model_name("m:latest") == "m"
    assert model_name("team@home") == "team@home" and model_name("m@v0") == "m@v0"
