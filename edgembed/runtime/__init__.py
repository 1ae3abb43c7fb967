"""The torch-free runtime: reads an export folder and embeds with onnxruntime.

Imports only numpy and the standard library up front; onnxruntime and tokenizers are loaded
when an `OnnxEmbedder` is made (``pip install 'edgembed[serve]'``). Never imports torch,
transformers or optimum.
"""

from edgembed.formats.manifest import (
    FORMAT_VERSION,
    MANIFEST_NAME,
    VARIANTS,
    Manifest,
    ManifestFile,
    read_manifest,
    sha256_file,
    verify_file,
)
from edgembed.runtime.embedder import OnnxEmbedder

__all__ = [
    "FORMAT_VERSION",
    "MANIFEST_NAME",
    "VARIANTS",
    "Manifest",
    "ManifestFile",
    "OnnxEmbedder",
    "read_manifest",
    "sha256_file",
    "verify_file",
]
