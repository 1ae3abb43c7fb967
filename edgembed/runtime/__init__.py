"""The torch-free runtime: loads an export folder and runs it with onnxruntime (or OpenVINO).

Imports only numpy and the standard library up front; onnxruntime and tokenizers are loaded
when a model is made (``pip install 'edgembed[serve]'``). Never imports torch, transformers or
optimum. The export folder's manifest is `edgembed.formats.manifest`'s.

- `OnnxModel`: what every kind shares (checks, variant, tokenizer, session, padded batches);
- `OnnxEmbedder`: texts -> vectors, with the model's prompts.
"""

from edgembed.runtime.embedder import OnnxEmbedder
from edgembed.runtime.onnx_model import OnnxModel

__all__ = ["OnnxEmbedder", "OnnxModel"]
