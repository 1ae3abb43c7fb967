#!/usr/bin/env bash
# Install everything (reusing .venv) and run the linters and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
# The container test builds and runs the image with buildah (no Docker engine needed);
# without it, that one test skips and says why.
if ! command -v buildah >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq buildah debootstrap) \
        >/dev/null 2>&1 || echo "could not install buildah; the container test will skip" >&2
fi
# The playground page test drives Debian's headless Chromium; without it, that test skips.
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
        >/dev/null 2>&1 || echo "could not install chromium; the playground page test will skip" >&2
fi
bash scripts/install.sh train,serve,llm,gguf,dev,openvino
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
# The bench regression gate (issue: ratios, not absolute times). Skip with EDGEMBED_SKIP_BENCH_GATE=1.
if [ -z "${EDGEMBED_SKIP_BENCH_GATE:-}" ]; then
    bash scripts/bench-gate.sh
fi
