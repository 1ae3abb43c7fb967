"""The torch-free runtime: loads an export folder and runs it with onnxruntime (or OpenVINO).

Imports only numpy and the standard library up front; onnxruntime and tokenizers are loaded
when a model is made (``pip install 'edgembed[serve]'``). Never imports torch, transformers or
optimum. The export folder's manifest is `edgembed.formats.manifest`'s.

- `OnnxModel`: what every kind shares (checks, variant, tokenizer, session, padded batches);
- `OnnxEmbedder`: texts -> vectors, with the model's prompts;
- `OnnxReranker`: (query, passage) pairs -> relevance scores, as CrossEncoder.predict gives.
"""

from edgembed.runtime.embedder import OnnxEmbedder
from edgembed.runtime.onnx_model import OnnxModel
from edgembed.runtime.reranker import OnnxReranker, PairTokens

__all__ = ["OnnxEmbedder", "OnnxModel", "OnnxReranker", "PairTokens"]
