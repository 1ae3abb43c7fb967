#!/usr/bin/env bash
# Create (or reuse) .venv at the repo root and install edgembed with the extras named in $1.
# torch goes first, pinned, so no other package can pull in a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-train,serve,llm,dev}"
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
stamp=".venv/.edgembed-installed"
want="$(cat pyproject.toml | sha256sum | cut -c1-16) $extras"
if [ -f "$stamp" ] && grep -qxF "$want" "$stamp"; then
    exit 0
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet "torch==2.13.0"
.venv/bin/python -m pip install --quiet -e ".[$extras]"
echo "$want" >>"$stamp"
