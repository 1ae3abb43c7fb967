"""`edgembed bench`: PyTorch vs ONNX fp32 vs ONNX int8, side by side in one run.

Latency and throughput at exact token counts (``latency``, ``inputs``, ``stats``), retrieval
accuracy (``accuracy``), HTTP load on a running server (``http``, ``load``), the regression
gate against a committed baseline (``gate``, ``baseline.json``), and the reports (``result``,
``report``); ``run.run_bench`` runs them all.

This package imports nothing up front on purpose: the cold-start harness's child process
(``benchmarks/coldstart.py``) imports ``backends``, and must pay only for its own backend.
Import the submodules (``from edgembed.bench.run import run_bench``).
"""

__all__: list[str] = []
