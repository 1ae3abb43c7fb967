"""Widen the fp16 weights prepare.sh carried back to fp32: python3 widen.py IN OUT."""

import sys

import torch
from safetensors.torch import load_file, save_file

weights = load_file(sys.argv[1])
widened = {k: v.float() if v.dtype == torch.float16 else v for k, v in weights.items()}
save_file(widened, sys.argv[2], metadata={"format": "pt"})
