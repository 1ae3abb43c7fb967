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
want="$(sha256sum pyproject.toml | cut -c1-16) $extras"
if [ -f "$stamp" ] && grep -qxF "$want" "$stamp"; then
    exit 0
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet "torch==2.13.0"
# llama-cpp-python (the gguf extra) compiles from source, ~8 minutes on 2 cores, so its wheel is
# built once into our own cache. A native build can use CPU instructions a VM advertises but
# does not enable (it crashed here on AMX), so it is built for the portable AVX2 level.
wheels="${EDGEMBED_WHEEL_CACHE:-$HOME/.cache/edgembed/wheels}"
mkdir -p "$wheels"
if [[ ",$extras," == *",gguf,"* ]] && ! ls "$wheels"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    echo "building llama-cpp-python once (about 8 minutes on 2 cores)..." >&2
    CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON}" \
        .venv/bin/python -m pip wheel --quiet --no-deps --no-cache-dir -w "$wheels" \
        "$(grep -o '"llama-cpp-python\[server\]==[0-9.]*"' pyproject.toml | tr -d '"' | sed 's/\[server\]//')"
fi
.venv/bin/python -m pip install --quiet --find-links "$wheels" -e ".[$extras]"
echo "$want" >>"$stamp"
