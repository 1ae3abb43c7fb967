"""API inputs (texts or token ids) -> the token sequences the model runs on.

The policy, which /v1/models and the docs repeat:

- Texts are tokenized by the model's own tokenizer, special tokens included, with the prompt
  the request gets (its input type's, the one it names, or the model's default) in front,
  exactly as sentence-transformers' ``encode(prompt_name=...)`` does.
- Token-id inputs are *content* tokens of the model's vocabulary (0 <= id < vocab_size), as the
  model's tokenizer gives them without special tokens. The server wraps each sequence in the
  model's special tokens ([CLS] ... [SEP] for BERT models) and puts the prompt's own tokens
  first, so a text and its token ids get the same embedding (for byte-level BPE tokenizers,
  where a prompt and the text's first word may merge into other tokens when tokenized
  together, nearly the same).
- An input longer than the model's limit is truncated to it (its end is dropped) unless the
  request's ``truncate`` field, or the server's ``--no-truncate``, asks for a 400 error instead.
  Responses say how many inputs were cut in the ``X-Edgembed-Truncated`` header.
- A text over `MAX_CHARS_PER_TOKEN` characters per token of the limit (65,536 for a 256-token
  model) is over the limit: it is cut to that many characters before it is tokenized (and
  counted as truncated), or refused when truncation is off.
- ``usage.prompt_tokens`` counts the tokens the model ran on, special tokens included.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from edgembed.errors import InputError, RequestError
from edgembed.server.protocol import Embedder

__all__ = ["MAX_CHARS_PER_TOKEN", "EncodedInputs", "InputEncoder", "ParsedInput", "RawInput"]

RawInput = str | Sequence[str | int | list[int]]
"""What OpenAI's `input` field may hold: a text, texts, token ids, or lists of token ids."""

# Characters of a text the tokenizer may see, per token of the model's limit. Natural text
# runs 4-6 characters a token, so this never cuts a text short of its first `limit` tokens; it
# bounds what one text costs (a 7 MB text with no spaces took the tokenizer 10 s whole, 0.1 s
# cut to 65,536 characters).
MAX_CHARS_PER_TOKEN = 256


@dataclass(frozen=True)
class ParsedInput:
    """The inputs of one request, or a run of them: texts, or token id sequences (exactly one
    is non-empty).

    Attributes:
        clipped: indices of texts cut to their characters cap (see `MAX_CHARS_PER_TOKEN`).
        offset: the request's index of the first input (for a run of them).
    """

    texts: list[str]
    sequences: list[list[int]]
    clipped: tuple[int, ...] = ()
    offset: int = 0

    @property
    def weight(self) -> int:
        """Characters plus token ids: how much tokenizing and checking the input costs."""
        return sum(map(len, self.texts)) + sum(map(len, self.sequences))

    def pieces(self, max_weight: int) -> list[ParsedInput]:
        """Consecutive runs of the inputs, each of at most `max_weight` (or one input)."""
        items: list[str] | list[list[int]] = self.texts or self.sequences
        runs: list[tuple[int, int]] = []
        start, weight = 0, 0
        for index, item in enumerate(items):
            if index > start and weight + len(item) > max_weight:
                runs.append((start, index))
                start, weight = index, 0
            weight += len(item)
        runs.append((start, len(items)))
        return [self._run(start, end) for start, end in runs]

    def _run(self, start: int, end: int) -> ParsedInput:
        clipped = tuple(i - start for i in self.clipped if start <= i < end)
        return ParsedInput(
            self.texts[start:end], self.sequences[start:end], clipped, self.offset + start
        )


@dataclass(frozen=True)
class EncodedInputs:
    """Token id sequences ready for the model, and how many inputs were cut to fit."""

    ids: list[list[int]]
    truncated: int

    @property
    def tokens(self) -> int:
        """Tokens the model runs on, special tokens included."""
        return sum(map(len, self.ids))

    @classmethod
    def join(cls, parts: Sequence[EncodedInputs]) -> EncodedInputs:
        """The encoded runs of one request, in order, as one."""
        ids = [sequence for part in parts for sequence in part.ids]
        return cls(ids, sum(part.truncated for part in parts))


class InputEncoder:
    """Checks the shape of API inputs and turns them into model-ready token sequences."""

    def __init__(self, embedder: Embedder, max_inputs: int) -> None:
        self._embedder = embedder
        self._max_inputs = max_inputs
        self._prefix, self._suffix = _special_tokens(embedder)

    def parse(self, raw: RawInput, param: str = "input") -> ParsedInput:
        """Return the texts or the token id sequences that `raw` holds.

        Raises:
            RequestError: empty input, too many inputs, or items of mixed or wrong kinds.
        """
        items = [raw] if isinstance(raw, str) else raw
        if not items:
            raise _bad(f"`{param}` is empty: send a string or a non-empty list.", param)
        texts = [item for item in items if isinstance(item, str)]
        if len(texts) == len(items):
            self._check_count(len(texts), param)
            for index, text in enumerate(texts):
                if not text:
                    raise _bad(f"{param}[{index}] is an empty string: send some text.", param)
            return self._clip(texts)
        token_ids = [item for item in items if isinstance(item, int)]
        if len(token_ids) == len(items):
            return ParsedInput([], [token_ids])
        sequences = [item for item in items if isinstance(item, list)]
        if len(sequences) != len(items):
            raise _bad(_mixed_message(items, param), param)
        self._check_count(len(sequences), param)
        for index, sequence in enumerate(sequences):
            if not sequence:
                raise _bad(f"{param}[{index}] is an empty list of token ids.", param)
        return ParsedInput([], sequences)

    def _clip(self, texts: list[str]) -> ParsedInput:
        """`texts`, each cut to its characters cap (`MAX_CHARS_PER_TOKEN`)."""
        cap = self._embedder.max_seq_length * MAX_CHARS_PER_TOKEN
        clipped = tuple(index for index, text in enumerate(texts) if len(text) > cap)
        if clipped:
            texts = [text[:cap] for text in texts]
        return ParsedInput(texts, [], clipped)

    def encode(self, parsed: ParsedInput, *, truncate: bool, prompt: str = "") -> EncodedInputs:
        """Token id sequences for the model, by the policy in this module's docstring.

        Raises:
            RequestError: a token id outside the vocabulary, or an input over the model's
                limit while ``truncate`` is False.
        """
        if parsed.texts:
            return self._encode_texts(parsed, truncate=truncate, prompt=prompt)
        return self._encode_ids(parsed, truncate=truncate, prompt=prompt)

    def _encode_texts(self, parsed: ParsedInput, *, truncate: bool, prompt: str) -> EncodedInputs:
        texts, limit = parsed.texts, self._embedder.max_seq_length
        if parsed.clipped and not truncate:
            raise _too_long(parsed.offset + parsed.clipped[0], limit)
        ids = self._embedder.tokenize(texts, truncate=True, prompt=prompt)
        clipped = set(parsed.clipped)
        # Only a text that fills the limit exactly can have been cut; ask the tokenizer again.
        cut = [
            i
            for i, seq in enumerate(ids)
            if i in clipped or (len(seq) >= limit and self._exceeds(texts[i], prompt))
        ]
        if cut and not truncate:
            raise _too_long(parsed.offset + cut[0], limit)
        return EncodedInputs(ids, len(cut))

    def prompt_ids(self, prompt: str) -> list[int]:
        """The prompt's own tokens, without the special tokens around a text."""
        if not prompt:
            return []
        (ids,) = self._embedder.tokenize([prompt])
        return ids[len(self._prefix) : len(ids) - len(self._suffix)]

    def _encode_ids(self, parsed: ParsedInput, *, truncate: bool, prompt: str) -> EncodedInputs:
        sequences, vocab = parsed.sequences, self._embedder.vocab_size
        for index, sequence in enumerate(sequences, start=parsed.offset):
            low, high = min(sequence), max(sequence)
            if low < 0 or high >= vocab:
                raise _bad(
                    f"input[{index}] holds token id {low if low < 0 else high}, outside the "
                    f"model's vocabulary (0 to {vocab - 1}). Send ids from this model's "
                    "tokenizer, without special tokens.",
                    "input",
                    code="invalid_token_id",
                )
        limit = self._embedder.max_seq_length
        head = self._prefix + self.prompt_ids(prompt)
        room = limit - len(head) - len(self._suffix)
        cut = [i for i, sequence in enumerate(sequences) if len(sequence) > room]
        if cut and not truncate:
            raise _too_long(parsed.offset + cut[0], limit)
        ids = [head + sequence[:room] + self._suffix for sequence in sequences]
        return EncodedInputs(ids, len(cut))

    def _check_count(self, count: int, param: str) -> None:
        if count > self._max_inputs:
            raise _bad(
                f"`{param}` holds {count} items; this server takes at most {self._max_inputs} "
                "per request. Split them over several requests.",
                param,
            )

    def _exceeds(self, text: str, prompt: str) -> bool:
        try:
            self._embedder.tokenize([text], truncate=False, prompt=prompt)
        except InputError:
            return True
        return False


def _special_tokens(embedder: Embedder) -> tuple[list[int], list[int]]:
    """The model's special tokens as (before the content, after it), read off its tokenizer.

    An empty text tokenizes to the special tokens alone ([CLS, SEP]); a one-word text shows
    which of them come before the content.
    """
    bare, word = embedder.tokenize(["", "a"])
    cut = 0
    while cut < min(len(bare), len(word)) and bare[cut] == word[cut]:
        cut += 1
    return bare[:cut], bare[cut:]


def _kind(item: object) -> str:
    if isinstance(item, str):
        return "a string"
    if isinstance(item, int):
        return "a token id"
    return "a list of token ids"


def _mixed_message(items: Sequence[str | int | list[int]], param: str) -> str:
    first = _kind(items[0])
    index = next(i for i, item in enumerate(items) if _kind(item) != first)
    return (
        f"{param}[{index}] is {_kind(items[index])} but {param}[0] is {first}: send all "
        "strings, all token ids, or all lists of token ids."
    )


def _bad(message: str, param: str, code: str | None = None) -> RequestError:
    return RequestError(message, status=400, param=param, code=code)


def _too_long(index: int, limit: int) -> RequestError:
    return RequestError(
        f"input[{index}] is longer than the model's limit of {limit} tokens and truncation is "
        "off. Shorten it, or let the server truncate it (leave out `truncate: false`).",
        status=400,
        param="input",
        code="context_length_exceeded",
    )
