"""ONNX export: fp32 and int8 graphs with pooling and normalisation inside, a parity check
against PyTorch with an accuracy gate, and the manifest the runtime reads.

Needs the ``train`` extra (torch, sentence-transformers, onnx, onnxruntime); the heavy imports
happen inside the functions that use them.
"""

from edgembed.exporter.export import ExportResult, export_model
from edgembed.exporter.quantize import ALL_INT8, QuantRecipe
from edgembed.runtime.isa import ISAS, detect_isa

__all__ = ["ALL_INT8", "ISAS", "ExportResult", "QuantRecipe", "detect_isa", "export_model"]
