#!/usr/bin/env bash
# The CI latency and accuracy regression gate: export the bundled all-MiniLM-L6-v2, then
# `edgembed bench --quick --serve` against the committed baseline. Ratios measured in one run
# (int8 vs PyTorch), never absolute times; exits non-zero with a diff on a regression.
set -euo pipefail
cd "$(dirname "$0")/.."
ws="$(mktemp -d)"
trap 'rm -rf "$ws"' EXIT
.venv/bin/edgembed -q --workspace "$ws" generate sample_docs
.venv/bin/edgembed -q --workspace "$ws" export bundled:all-MiniLM-L6-v2 --name minilm
.venv/bin/edgembed --workspace "$ws" bench minilm --quick --serve \
    --questions sample_docs/questions.jsonl --check edgembed/bench/baseline.json
