"""The one exception tree of edgembed.

    EdgembedError                  every error edgembed raises on purpose
    ├── ConfigError                an option, an environment variable or edgembed.toml is wrong
    ├── InputError                 the user's input cannot be used (missing folder, bad file)
    │   └── NoDocumentsError       a folder holds no document edgembed can read
    ├── DocumentError              one document cannot be read (reported and skipped)
    ├── OutputExistsError          an output would be overwritten without --force
    ├── MissingExtraError          an optional dependency is not installed
    ├── GeneratorError             a question generator failed
    │   └── LLMUnavailableError    the LLM server is unreachable or lacks the model
    ├── ModelError                 a model cannot be found or loaded
    ├── TrainingError              fine-tuning failed (out of memory, bad data)
    ├── ExportError                ONNX export or quantization failed
    │   └── ParityError            the exported model does not match PyTorch closely enough
    ├── ManifestError              an export folder is incomplete, tampered with or too new
    ├── BenchRegressionError       a benchmark figure got worse than its baseline allows
    ├── RequestError               an HTTP request to `edgembed serve` cannot be answered
    └── ClientError                `EdgembedEmbeddings` got no embeddings from the server

Messages say what went wrong and what to do next; the CLI prints them without a traceback.
"""

from __future__ import annotations

__all__ = [
    "BenchRegressionError",
    "ClientError",
    "ConfigError",
    "DocumentError",
    "EdgembedError",
    "ExportError",
    "GeneratorError",
    "InputError",
    "LLMUnavailableError",
    "ManifestError",
    "MissingExtraError",
    "ModelError",
    "NoDocumentsError",
    "OutputExistsError",
    "ParityError",
    "RequestError",
    "TrainingError",
]


class EdgembedError(Exception):
    """Base class of every error edgembed raises on purpose."""


class ConfigError(EdgembedError):
    """An option, an environment variable or edgembed.toml holds a bad value."""


class InputError(EdgembedError):
    """The user's input cannot be used."""


class NoDocumentsError(InputError):
    """A documents folder holds nothing edgembed can read."""


class DocumentError(EdgembedError):
    """One document cannot be read; callers report it and go on."""


class OutputExistsError(EdgembedError):
    """An output already exists and --force was not given."""


class MissingExtraError(EdgembedError):
    """An optional dependency is missing; the message names the pip extra."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(
            f"{package} is not installed. Install it with: pip install 'edgembed[{extra}]'"
        )
        self.package = package
        self.extra = extra


class GeneratorError(EdgembedError):
    """A question generator failed."""


class LLMUnavailableError(GeneratorError):
    """The LLM server cannot be reached or does not have the model."""


class ModelError(EdgembedError):
    """A model cannot be found or loaded."""


class TrainingError(EdgembedError):
    """Fine-tuning failed."""


class ExportError(EdgembedError):
    """ONNX export or quantization failed."""


class ParityError(ExportError):
    """The exported model is not close enough to the PyTorch model."""


class ManifestError(EdgembedError):
    """An export folder is incomplete, tampered with, or of an unknown format."""


class BenchRegressionError(EdgembedError):
    """A benchmark figure got worse than the committed baseline allows."""


class RequestError(EdgembedError):
    """An HTTP request to `edgembed serve` cannot be answered.

    Carries what the server needs for OpenAI's error envelope: the HTTP status, the request
    field at fault (``param``), a machine-readable ``code`` and, for overload, how many seconds
    the client should wait before retrying.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        param: str | None = None,
        code: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.param = param
        self.code = code
        self.retry_after = retry_after


class ClientError(EdgembedError):
    """The embedding client got no embeddings from the server.

    ``status`` is the HTTP status (None when the server could not be reached) and ``code`` the
    machine-readable code from OpenAI's error envelope, when the server sent one.
    """

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
