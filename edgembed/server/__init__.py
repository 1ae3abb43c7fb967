"""The embedding server: OpenAI's (and Ollama's) embeddings API over one exported model.

``create_app(settings, embedder)`` builds the Litestar app; ``serve(export_dir, settings)``
loads an export folder and runs it under uvicorn. Imports no torch, transformers or optimum.
"""

from __future__ import annotations

from edgembed.server.app import create_app
from edgembed.server.batcher import EmbeddingBatcher
from edgembed.server.protocol import Embedder

__all__ = ["Embedder", "EmbeddingBatcher", "create_app"]
