#!/usr/bin/env bash
# Install everything (reusing .venv) and run the linters and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh train,serve,llm,gguf,dev
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
