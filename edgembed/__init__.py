"""edgembed: domain-tuned embeddings for on-prem RAG.

Fine-tune a sentence-transformers model on your own documents, export it to quantized ONNX
and serve it from a small CPU container with an OpenAI-compatible API.

Layers point down; a module imports its own unit and lower ranks only (tests/test_layers.py):

    7  cli/                     click: parse, build a config, call a plain function
    6  pipeline.py              runs the stages in turn
    5  trainer/{generate,train,evaluate}/ exporter/ bench/ server/
                                the stages: none imports another
    4  runtime/ evaluation/     the ONNX engine (no torch); the retrieval task and its metrics
    3  corpus/ models.py        documents -> chunks; find and describe a model or an export
    2  formats/                 every on-disk artefact's one reader and writer
    1  config workspace atomic progress client
    0  errors, __version__
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
