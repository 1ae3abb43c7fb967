#!/usr/bin/env bash
# Install (reusing .venv) and run the main job on the embedded default: the sample policy
# documents, the bundled all-MiniLM-L6-v2 model, no LLM server.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh train,serve,llm,dev
.venv/bin/edgembed --workspace workspace chunk sample_docs
