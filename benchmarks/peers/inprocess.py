"""edgembed's OnnxEmbedder beside sentence-transformers' own ONNX int8 backend, in one process.

The same bundled all-MiniLM-L6-v2: edgembed's export (int8 file, onnxruntime; and the fp32 file
on OpenVINO when it is installed) against sentence-transformers' ONNX backend on its
avx512_vnni int8 file (make_model.py) and PyTorch. Timed at 1x16 and 32x128 tokens in the same
interleaved rounds, scored by cosine to PyTorch and batch invariance, with the machinery of
benchmarks/engines/compare.py (`edgembed bench`'s).

    nice -n 5 .venv/bin/python benchmarks/peers/inprocess.py WORKSPACE/exports/NAME \
        /tmp/peers/minilm --questions sample_docs/questions.jsonl
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks" / "engines"))

import compare  # noqa: E402

from edgembed.bench.backends import PYTORCH, Backend, load_backend  # noqa: E402
from edgembed.bench.stats import StopRule  # noqa: E402

INT8_FILE = "onnx/model_qint8_avx512_vnni.onnx"


def st_onnx_backend(folder: Path) -> Backend:
    import onnxruntime
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(
        str(folder), backend="onnx", device="cpu", model_kwargs={"file_name": INT8_FILE}
    )

    def embed(texts: Sequence[str]) -> Any:
        return st.encode(list(texts), batch_size=32, normalize_embeddings=True)

    return Backend(
        "st-onnx-int8",
        embed,
        0,
        f"sentence-transformers ONNX, {INT8_FILE}, onnxruntime {onnxruntime.__version__}",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("export", type=Path)
    parser.add_argument("peer_model", type=Path, help="the folder make_model.py wrote")
    parser.add_argument("--questions", type=Path, default=None)
    parser.add_argument("--max-seconds", type=float, default=60.0, help="per shape")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/peers.jsonl")
    args = parser.parse_args()
    backends = [
        load_backend(PYTORCH, args.export, None, None),
        compare.onnx_backend("edgembed-int8", args.export, "onnxruntime", {}, variant="int8"),
        st_onnx_backend(args.peer_model),
    ]
    if importlib.util.find_spec("openvino"):
        backends.append(compare.onnx_backend("edgembed-openvino", args.export, "openvino", {}))
    rule = StopRule(warmup=3, min_rounds=15, max_rounds=200, max_seconds=args.max_seconds)
    speeds = compare.speed(backends, rule, args.export, reference="edgembed-int8")
    figures = compare.accuracy(backends, compare.read_questions(args.questions))
    result = {
        "backends": {b.name: b.detail for b in backends},
        "speed": speeds,
        "accuracy": figures,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(result) + "\n")
    print(compare.table(speeds, figures))
    compare.print_load(speeds)


if __name__ == "__main__":
    main()
