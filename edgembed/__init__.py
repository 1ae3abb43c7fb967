"""edgembed: domain-tuned embeddings for on-prem RAG.

Fine-tune a sentence-transformers model on your own documents, export it to quantized ONNX
and serve it from a small CPU container with an OpenAI-compatible API.

Layers point down; a module imports its own unit and lower ranks only (tests/test_layers.py):

    6  cli/                     click: parse, build a config, call a plain function
    5  pipeline.py              runs the stages in turn
    4  trainer/ exporter/ bench/ server/   the stages: none imports another
    3  evaluation/ models.py    retrieval metrics, real questions, query sets; model lookup
    2  corpus/ runtime/         documents -> chunks (and pairs); the ONNX engine that server,
                                bench and export run exports with
    1  config workspace atomic progress client
    0  errors, __version__
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
