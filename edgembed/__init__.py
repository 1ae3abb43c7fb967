"""edgembed: domain-tuned embeddings for on-prem RAG.

Fine-tune a sentence-transformers model on your own documents, export it to quantized ONNX
and serve it from a small CPU container with an OpenAI-compatible API.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
