"""Models and exports, by name or folder: find them, describe them, load them, fully offline.

- `find`: resolve a model name (``bundled:...``, a folder, a cached hub id) or an export name
  to a folder, the workspace's newest model or export, and load a sentence-transformers model;
- `describe`: what a model folder is, read from its configuration files without loading it
  (kind, architecture, pooling, prompts, window, size): a `ModelDescriptor`, the one
  description that export, the runtime, the server, bench and `edgembed models` read.
"""

from edgembed.formats.descriptor import ModelDescriptor
from edgembed.models.describe import describe_model, pooling_includes_prompt, read_pooling
from edgembed.models.encode import NO_PROMPTS, Prompts, encode
from edgembed.models.find import (
    BUNDLED_MINILM,
    base_model_of,
    find_export,
    find_model,
    load_sentence_transformer,
    newest_model,
    pick_device,
    resolve_model,
)

__all__ = [
    "BUNDLED_MINILM",
    "NO_PROMPTS",
    "ModelDescriptor",
    "Prompts",
    "base_model_of",
    "describe_model",
    "encode",
    "find_export",
    "find_model",
    "load_sentence_transformer",
    "newest_model",
    "pick_device",
    "pooling_includes_prompt",
    "read_pooling",
    "resolve_model",
]
