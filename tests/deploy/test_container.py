"""The runtime image, built for real with buildah (scripts/build-container.sh), run with its own
entrypoint and called with the official openai SDK.

The first run debootstraps a Debian base (~2 minutes, cached in ~/.cache/edgembed); each run
then builds the image in a private buildah storage without layer caching (~2-4 minutes on two
cores) and removes it afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.deploy.conftest import serving
from tests.server.live import free_port

needs_buildah = pytest.mark.skipif(
    shutil.which("buildah") is None,
    reason="buildah is not installed (apt-get install buildah debootstrap): the container "
    "image cannot be built here",
)

REPO = Path(__file__).resolve().parents[2]
TAG = "localhost/edgembed-test:latest"
# The runtime image must stay a small fraction of a torch image (the build stage: ~2.5 GB).
MAX_IMAGE_MB = 600


@pytest.fixture(scope="module")
def storage() -> Path:
    cache = Path(os.environ.get("EDGEMBED_CACHE", Path.home() / ".cache/edgembed"))
    return cache / "buildah-test"


def buildah_command(storage: Path, *args: str) -> list[str]:
    """buildah on the test's private vfs storage."""
    root = ["--root", str(storage / "storage"), "--runroot", str(storage / "run")]
    return ["buildah", "--storage-driver", "vfs", *root, *args]


def buildah(storage: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    command = buildah_command(storage, *args)
    return subprocess.run(command, check=check, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def image(storage: Path, real_export: Path) -> Iterator[dict[str, Any]]:
    """The runtime image with the tiny export baked in; its docker config. Removed after."""
    env = {**os.environ, "EDGEMBED_BUILDAH_ROOT": str(storage), "BUILDAH_LAYERS": "false"}
    build = subprocess.run(
        ["bash", str(REPO / "scripts/build-container.sh"), "--export", str(real_export)]
        + ["--tag", TAG],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    try:
        yield json.loads(buildah(storage, "inspect", "--type", "image", TAG).stdout)
    finally:
        buildah(storage, "rmi", TAG, check=False)


@pytest.fixture()
def container(storage: Path, image: dict[str, Any]) -> Iterator[str]:
    name = buildah(storage, "from", TAG).stdout.strip()
    yield name
    buildah(storage, "rm", name, check=False)


def run_in(storage: Path, container: str, *command: str) -> subprocess.CompletedProcess[str]:
    return buildah(storage, "run", "--isolation", "chroot", container, "--", *command, check=False)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "gpu"], "--target must be runtime or build"),
        (["--export", "sample_docs"], "sample_docs has no manifest.json"),
        (["--bogus"], "unknown option: --bogus"),
    ],
)
def test_build_script_refuses_bad_input(args: list[str], message: str) -> None:
    script = REPO / "scripts/build-container.sh"
    refused = subprocess.run(["bash", str(script), *args], capture_output=True, text=True, cwd=REPO)
    assert refused.returncode == 2
    assert message in refused.stderr


@pytest.mark.slow
@needs_buildah
def test_image_is_small_non_root_and_torch_free(
    storage: Path, image: dict[str, Any], container: str
) -> None:
    config = image["Docker"]["config"]
    assert config["User"] == "10001:10001"
    assert "8001/tcp" in config["ExposedPorts"]
    assert config["Entrypoint"][:3] == ["edgembed", "serve", "/models/export"]
    assert "/health" in " ".join(config["Healthcheck"]["Test"])
    size_mb = _size_mb(storage)
    print(f"runtime image: {size_mb:.0f} MB")
    assert size_mb < MAX_IMAGE_MB
    probe = "import importlib.util as u; print([m for m in ('torch', 'transformers', 'optimum')"
    probe += " if u.find_spec(m)])"
    assert run_in(storage, container, "python3", "-c", probe).stdout.strip() == "[]"
    assert run_in(storage, container, "id", "-u").stdout.strip() == "10001"
    listing = run_in(storage, container, "ls", "/models/export").stdout.split()
    assert {"manifest.json", "model.int8.onnx", "tokenizer.json"} <= set(listing)


@pytest.mark.slow
@needs_buildah
def test_entrypoint_serves_the_openai_sdk_and_passes_its_healthcheck(
    storage: Path, image: dict[str, Any], container: str, real_export: Path
) -> None:
    import openai

    from edgembed.runtime import OnnxEmbedder

    config = image["Docker"]["config"]
    port = free_port()
    # The entrypoint as built, then overrides: inside chroot isolation the container shares
    # the host's network, so the test binds loopback and a free port, not 0.0.0.0:8001.
    command = [*config["Entrypoint"], *config["Cmd"], "--host", "127.0.0.1", "--port", str(port)]
    health = [part.replace(":8001/", f":{port}/") for part in config["Healthcheck"]["Test"][1:]]
    texts = ["How do I reset my password?", "Expenses are refunded within 30 days."]
    run = buildah_command(
        storage, "run", "--isolation", "chroot", "--env", "EDGEMBED_API_KEY=k3y", container
    )
    run += ["--", *command]
    with serving(run, port) as server:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="k3y", max_retries=0)
        response = client.embeddings.create(model="tiny-golden", input=texts)
        healthy = run_in(storage, container, *health)
        # buildah run kills its child rather than forwarding SIGTERM, so only the exit counts
        # here; the graceful stop is tested on a plain process in tests/server/test_live.py.
        server.stop()
    unhealthy = run_in(storage, container, *health)
    assert healthy.returncode == 0, healthy.stderr
    assert unhealthy.returncode != 0
    got = np.array([item.embedding for item in response.data], dtype=np.float32)
    expected = OnnxEmbedder(real_export, variant="int8").embed(texts)
    np.testing.assert_allclose(got, expected, atol=1e-4)


def _size_mb(storage: Path) -> float:
    size = buildah(storage, "images", "--format", "{{.Size}}", TAG).stdout.strip()
    number, unit = size.split()
    return float(number) * {"kB": 1e-3, "MB": 1.0, "GB": 1e3}[unit]
