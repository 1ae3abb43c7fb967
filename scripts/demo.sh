#!/usr/bin/env bash
# Install (reusing .venv) and run the main job on the embedded default: the sample policy
# documents, the bundled all-MiniLM-L6-v2 model, no LLM server, no internet. Then serve the
# export and answer one question through the OpenAI-compatible API.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh train,serve,llm,dev
ws="${EDGEMBED_WORKSPACE:-workspace}"
port="${EDGEMBED_DEMO_PORT:-8001}"
.venv/bin/edgembed --workspace "$ws" pipeline sample_docs "$@"

export_dir="$ws/exports/edgembed-model"
.venv/bin/edgembed --workspace "$ws" serve "$export_dir" --port "$port" &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do
    if .venv/bin/python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$port/ready', timeout=1)" 2>/dev/null; then
        break
    fi
    sleep 0.5
done
.venv/bin/python scripts/ask.py "can I roll over vacation days I didn't use?" \
    --url "http://127.0.0.1:$port/v1" --workspace "$ws"
