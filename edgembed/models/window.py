"""How long a passage a model reads: chunk sizes that follow the model's window and tokenizer.

edgembed's chunk size was measured for all-MiniLM-L6-v2: 200 words (about 250 tokens with the
breadcrumb line) fill its 256-token window. Another model's chunks are scaled from that by its
window (less its document prompt) and by how many tokens its tokenizer spends on the same
English text, up to `MAX_CHUNK_WORDS`: longer passages dilute a single vector, whatever the
window allows.
"""

from __future__ import annotations

import logging
from pathlib import Path

from edgembed.errors import EdgembedError
from edgembed.models.describe import describe_model
from edgembed.models.find import resolve_model

__all__ = [
    "DEFAULT_CHUNK_WORDS",
    "MAX_CHUNK_WORDS",
    "MINILM_REFERENCE_TOKENS",
    "REFERENCE_TEXT",
    "chunk_words_for",
    "reference_tokens",
]

log = logging.getLogger(__name__)

DEFAULT_CHUNK_WORDS = 200
"""all-MiniLM-L6-v2's chunk size, the one the recipe was measured with."""
_DEFAULT_WINDOW = 256
MAX_CHUNK_WORDS = 400
_MIN_CHUNK_WORDS = 50
# Windows past this many tokens do not make chunks longer (see MAX_CHUNK_WORDS).
_MAX_WINDOW = 512

REFERENCE_TEXT = (
    "Employees accrue paid time off from their first day of work. Unused vacation days may "
    "be carried over into the next calendar year, up to a maximum of five days, and expire "
    "at the end of March. Requests for leave longer than two weeks need the approval of a "
    "manager and of the human resources team. Travel expenses are reimbursed within thirty "
    "days when the receipts are submitted through the expense portal; hotels in London, "
    "Paris and New York have a higher nightly limit. The VPN must be used on every network "
    "outside the office, including hotel and conference networks."
)
MINILM_REFERENCE_TOKENS = 117
"""Tokens all-MiniLM-L6-v2's tokenizer makes of REFERENCE_TEXT (special tokens left out)."""


def reference_tokens(model_dir: Path, text: str = REFERENCE_TEXT) -> int:
    """How many tokens the model's tokenizer makes of `text`, special tokens left out.

    Raises:
        EdgembedError: the folder has no tokenizer.json, or tokenizers is not installed.
    """
    try:
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise EdgembedError("tokenizers is not installed") from exc
    path = model_dir / "tokenizer.json"
    if not path.is_file():
        raise EdgembedError(f"{model_dir} has no tokenizer.json")
    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_padding()  # a tokenizer.json may pad or cut to a fixed length (MiniLM's does)
    tokenizer.no_truncation()
    return len(tokenizer.encode(text, add_special_tokens=False).ids) if text else 0


def chunk_words_for(spec: str | Path) -> int:
    """The chunk size, in words, that fills the window of the model named `spec` as 200 words
    fill all-MiniLM-L6-v2's; 200 when the model cannot be read (logged)."""
    try:
        folder = resolve_model(spec)
        descriptor = describe_model(folder)
        tokens = reference_tokens(folder)
        prompt = descriptor.prompt_text("document") if descriptor.prompts else ""
        prompt_tokens = reference_tokens(folder, prompt)
    except (EdgembedError, ValueError) as exc:
        log.warning("chunk size: %s; using %d words", exc, DEFAULT_CHUNK_WORDS)
        return DEFAULT_CHUNK_WORDS
    window = min(descriptor.max_seq_length, _MAX_WINDOW) - prompt_tokens
    words = DEFAULT_CHUNK_WORDS * (window / _DEFAULT_WINDOW) * (MINILM_REFERENCE_TOKENS / tokens)
    return int(min(MAX_CHUNK_WORDS, max(_MIN_CHUNK_WORDS, round(words))))
