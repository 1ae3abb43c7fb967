"""OnnxModel: an export folder loaded for inference, whatever kind of model it holds.

Loading reads and checks the manifest, picks the ONNX variant for this CPU, verifies the sha256
of every file it uses, loads the tokenizer and an engine session, and checks that the graph
answers the way the manifest says (inputs, output, the size of a result): a folder that is
incomplete, tampered with, of an unknown format or whose manifest disagrees with its model is
refused. The kinds (`OnnxEmbedder`, `OnnxReranker`) say what one call means.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence, Sized
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from edgembed.errors import ConfigError, InputError, ManifestError
from edgembed.formats.descriptor import ModelDescriptor
from edgembed.formats.manifest import VARIANTS, Manifest, read_manifest, verify_file
from edgembed.runtime.cpu import choose_variant, physical_cores, this_cpu_int8_path
from edgembed.runtime.lanes import LANES, Lanes
from edgembed.runtime.session import (
    ENGINES,
    ModelSession,
    create_session,
    load_tokenizer,
    trim_heap,
)

if TYPE_CHECKING:
    from tokenizers import Encoding, Tokenizer

__all__ = ["CALL_TOKENS", "OnnxModel", "length_batches", "prefix"]

log = logging.getLogger(__name__)

_PAD_SLACK = 16
# Padded tokens per onnxruntime call. Bigger calls do not run faster on a CPU: their
# activations fall out of the cache and the memory-bound ops (layer norms, GELU, the
# quantization of activations) slow down. Measured with the int8 MiniLM on 2 cores (32
# sequences): 32x128 as one call 199 ms, as calls of 1024 tokens 156 ms; 32x256 535 ms vs
# 357 ms; calls of 512-2048 tokens were within 3% of each other on two threads. Calls now run
# on one-thread lanes (runtime/lanes.py), where 512 beat 1024 by 2% at 32x128 and by 7% on the
# sample's 147 chunks (median 210 tokens), in CPU time (docs/findings.md, 2026-12-04).
CALL_TOKENS = 512
# A text is tokenized from a prefix of at most this many characters per token of the window
# (cut at a space, grown while it gives too few tokens): a 7 MB text truncated to 256 tokens
# costs the tokenizer 16 KB, not 7 MB, and another request never waits for it.
_CHARS_PER_TOKEN = 64


class OnnxModel:
    """One ONNX variant of an export folder, ready to run. Safe to call from several threads.

    Args:
        export_dir: the folder `edgembed export` wrote (holds manifest.json).
        variant: ``int8`` (smaller, faster), ``fp32`` (exactly the PyTorch model) or ``auto``:
            int8 when the export has it and validated it on this CPU's int8 class, else fp32
            (logged once); with OpenVINO, always fp32. The variant served is `self.variant`.
        threads: the engine's intra-op threads; None: one per physical core. On
            onnxruntime with two or more threads, a batch of two or more sequences runs as at
            least two calls, two at a time, each on half the threads (runtime/lanes.py); a
            single sequence runs on all of them.
        call_tokens: a batch is cut into calls of at most this many padded tokens (a single
            longer sequence still goes alone).
        cpu: this CPU's int8 class (runtime.cpu.INT8_PATHS); None: read from the CPU.
        engine: ``onnxruntime`` or ``openvino`` (runs the fp32 file, in bf16 on CPUs with bf16
            units: `self.precision` says which).

    Raises:
        ConfigError: `variant` is not fp32, int8 or auto, `engine` is unknown, `threads` is
            below 1, int8 was asked for on a CPU whose int8 class the export was not validated
            on, or int8 was asked for with OpenVINO.
        ManifestError: the folder is not a whole, untouched export of this kind of model, or
            its manifest disagrees with its model.
        MissingExtraError: the engine or tokenizers is not installed.
    """

    kind: ClassVar[str] = ""

    def __init__(
        self,
        export_dir: Path | str,
        variant: str = "auto",
        threads: int | None = None,
        call_tokens: int = CALL_TOKENS,
        cpu: str | None = None,
        engine: str = "onnxruntime",
    ) -> None:
        _check_arguments(variant, threads, call_tokens, engine)
        self.call_tokens = call_tokens
        self.export_dir = Path(export_dir)
        self.manifest: Manifest = read_manifest(self.export_dir)
        self._check_kind()
        self.engine = engine
        self.variant = self._choose_variant(variant, cpu)
        self._unpadded_from = _unpadded_from(self.manifest, self.variant)
        model_path = verify_file(self.export_dir, self.manifest.model_file(self.variant))
        tokenizer_path = verify_file(self.export_dir, self.manifest.tokenizer_file)
        self._truncating = load_tokenizer(tokenizer_path, self.manifest.max_seq_length)
        self._whole = load_tokenizer(tokenizer_path, None)
        self._session = create_session(model_path, threads, engine, self.variant)
        self.precision = self._session.precision
        self._lanes: Lanes[ModelSession] | None = None
        lane_threads = threads or physical_cores()
        if engine == "onnxruntime" and lane_threads > 1:
            self._lanes = Lanes(
                lambda n: create_session(model_path, n, engine, self.variant), lane_threads
            )
        self._check_signature()
        self._check_output()
        log.info(
            "loaded %s (%s %s, %s on %s) from %s",
            self.manifest.name,
            self.kind,
            self.variant,
            self.precision,
            engine,
            self.export_dir,
        )

    def _check_kind(self) -> None:
        if not self.kind:
            raise TypeError("OnnxModel is the base of OnnxEmbedder and OnnxReranker: use one")
        if self.manifest.kind != self.kind:
            raise ManifestError(
                f"{self.export_dir} holds a model of kind '{self.manifest.kind}', not "
                f"'{self.kind}': serve an "
                "embedding export as the server's model and a reranker export with --reranker."
            )

    def _choose_variant(self, variant: str, cpu: str | None) -> str:
        if self.engine == "openvino":
            if variant == "int8":
                raise ConfigError(
                    "OpenVINO cannot run edgembed's int8 file (per-row int8 ops it has no "
                    "kernel for). Use --engine openvino with --variant auto or fp32 (it runs the "
                    "fp32 file, in bf16 on CPUs with bf16 units), or --engine onnxruntime."
                )
            return "fp32"
        chosen, why = choose_variant(self.manifest, variant, cpu or this_cpu_int8_path())
        if why is not None:
            log.warning("serving %s: %s", chosen, why)
        return chosen

    def _check_signature(self) -> None:
        inputs = self._session.input_names
        outputs = self._session.output_names
        if set(inputs) != set(self.manifest.inputs) or self.manifest.output not in outputs:
            raise ManifestError(
                f"the {self.variant} model takes {inputs} and returns {outputs}, but "
                f"manifest.json says {self.manifest.inputs} -> {self.manifest.output}. "
                "Re-run `edgembed export --force`."
            )

    def _check_output(self) -> None:
        """One tiny call: the graph's result must have the size the manifest says."""
        self._check_width(self._run(self.tokenize(["edgembed"])))

    def _check_width(self, result: NDArray[np.float32]) -> None:
        width = int(result.shape[1]) if result.ndim == 2 else 1
        if width != self.manifest.dimension:
            raise ManifestError(
                f"{self.export_dir / 'manifest.json'} says the model gives "
                f"{self.manifest.dimension} values per input, but its {self.variant} graph gives "
                f"{width}: the manifest was edited or does not belong to this model. Re-run "
                "`edgembed export --force`."
            )

    @property
    def descriptor(self) -> ModelDescriptor:
        """What the model is (from the manifest)."""
        return self.manifest.model

    @property
    def max_seq_length(self) -> int:
        """Most tokens per input, special tokens included; longer texts are truncated."""
        return self.manifest.max_seq_length

    @property
    def model_name(self) -> str:
        """The export's model name."""
        return self.manifest.name

    @property
    def version(self) -> int:
        """The model's version (1, then one more per `edgembed improve` promotion)."""
        return self.manifest.version

    @property
    def vocab_size(self) -> int:
        """Token ids run from 0 to vocab_size - 1."""
        return self.manifest.vocab_size

    def tokenize(self, texts: Sequence[str], *, truncate: bool = True) -> list[list[int]]:
        """Token ids per text, special tokens included.

        Raises:
            InputError: `truncate` is False and a text is longer than max_seq_length tokens.
        """
        return [encoding.ids for encoding in self._encode(texts, truncate=truncate)]

    def _encode(self, texts: Sequence[str], *, truncate: bool) -> list[Encoding]:
        """The tokenizer's encodings of `texts`, each from a bounded prefix (see
        `_CHARS_PER_TOKEN`); with `truncate` False, one over the window raises InputError."""
        if not texts:
            return []
        first = self.max_seq_length * _CHARS_PER_TOKEN
        encodings = _encode_all(self._whole, [prefix(text, first) for text in texts])
        for index, text in enumerate(texts):
            budget = first
            while len(encodings[index].ids) <= self.max_seq_length and len(text) > budget:
                # The prefix may have cut tokens off the end: try again with more of the text.
                budget *= 4
                encodings[index] = self._whole.encode(prefix(text, budget))
            if len(encodings[index].ids) > self.max_seq_length:
                if not truncate:
                    raise InputError(
                        f"input {index} has {'more than ' if len(text) > budget else ''}"
                        f"{len(encodings[index].ids)} tokens; the model takes at most "
                        f"{self.max_seq_length}. Shorten it or let it be truncated."
                    )
                encodings[index] = self._truncating.encode(prefix(text, budget))
        return encodings

    def check_ids(self, ids: Sequence[Sequence[int]]) -> None:
        """Raise InputError when a sequence is empty, too long, or outside the vocabulary."""
        for index, row in enumerate(ids):
            if not row:
                raise InputError(f"input {index} is an empty token sequence")
            if len(row) > self.max_seq_length:
                raise InputError(
                    f"input {index} has {len(row)} tokens; the model takes at most "
                    f"{self.max_seq_length}"
                )
            if min(row) < 0 or max(row) >= self.vocab_size:
                raise InputError(f"input {index} holds a token id outside 0..{self.vocab_size - 1}")

    def release_memory(self) -> None:
        """Give back the memory that big batches left behind: onnxruntime's arena keeps the
        peak of the largest call and the C heap keeps freed pages. One one-token run that
        shrinks the arena, then a heap trim: a few milliseconds, for when the caller is idle.
        """
        pad = self._feeds([[self.manifest.pad_token_id]])
        for session in [self._session, *(self._lanes.sessions if self._lanes else [])]:
            self._run_feeds(pad, shrink_memory=True, session=session)
        trim_heap()

    def _feeds(self, batch: Sequence[Any]) -> dict[str, NDArray[np.int64]]:
        """The graph's inputs for a batch, right-padded to its longest sequence."""
        length = max(len(row) for row in batch)
        input_ids = np.full((len(batch), length), self.manifest.pad_token_id, dtype=np.int64)
        attention_mask = np.zeros((len(batch), length), dtype=np.int64)
        for r, row in enumerate(batch):
            input_ids[r, : len(row)] = row
            attention_mask[r, : len(row)] = 1
        return {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "token_type_ids": np.zeros_like(input_ids),
        }

    def _run_feeds(
        self,
        feeds: Mapping[str, NDArray[np.int64]],
        *,
        shrink_memory: bool = False,
        session: ModelSession | None = None,
    ) -> NDArray[np.float32]:
        return (session or self._session).run(
            self.manifest.output,
            {name: feeds[name] for name in self.manifest.inputs},
            shrink_memory=shrink_memory,
        )

    def _run(self, batch: Sequence[Any], *, shrink_memory: bool = False) -> NDArray[np.float32]:
        """One model call on token sequences (or pairs: `OnnxReranker`)."""
        return self._run_feeds(self._feeds(batch), shrink_memory=shrink_memory)

    def _run_batches(self, ids: Sequence[Sized], batch_size: int) -> NDArray[np.float32]:
        """Run `ids` in length-sorted batches (see `length_batches`); rows in input order."""
        if batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, got {batch_size}")
        lengths = [len(row) for row in ids]
        batches = list(length_batches(lengths, batch_size, self.call_tokens, self._unpadded_from))
        if self._lanes is not None:
            batches = _at_least(LANES, batches)
        if len(batches) > 1 and self._lanes is not None:

            def run(session: ModelSession, rows: list[int]) -> NDArray[np.float32]:
                return self._run_feeds(self._feeds([ids[i] for i in rows]), session=session)

            results = self._lanes.map(run, batches)
        else:
            results = [self._run([ids[i] for i in rows]) for rows in batches]
        if not results:
            return np.empty((0, self.manifest.dimension), np.float32)
        out = np.empty((len(ids), *results[0].shape[1:]), dtype=np.float32)
        for rows, result in zip(batches, results, strict=True):
            out[rows] = result
        return out


def _check_arguments(variant: str, threads: int | None, call_tokens: int, engine: str) -> None:
    if engine not in ENGINES:
        raise ConfigError(f"engine must be one of {', '.join(ENGINES)}; got '{engine}'")
    if variant not in (*VARIANTS, "auto"):
        raise ConfigError(f"variant must be one of {', '.join(VARIANTS)}, auto; got '{variant}'")
    if threads is not None and threads < 1:
        raise ConfigError(f"threads must be at least 1, got {threads}")
    if call_tokens < 1:
        raise ConfigError(f"call_tokens must be at least 1, got {call_tokens}")


def _unpadded_from(manifest: Manifest, variant: str) -> int | None:
    """The length from which the variant's attention skips its mask on unpadded calls (so the
    runtime must never pad texts that long); None when it never does."""
    unmasked = (manifest.model_file(variant).quantization or {}).get("unmasked_when_unpadded")
    return int(unmasked["min_tokens"]) if isinstance(unmasked, dict) else None


def prefix(text: str, budget: int) -> str:
    """`text`, or its first `budget` characters cut back to the last space (a boundary every
    tokenizer's pre-tokenizer splits at), so the prefix's tokens are the text's first ones."""
    if len(text) <= budget:
        return text
    cut = text.rfind(" ", 0, budget)
    return text[: cut if cut > 0 else budget]


def _encode_all(tokenizer: Tokenizer, texts: list[str]) -> list[Encoding]:
    if len(texts) == 1:  # encode_batch hands even one text to its thread pool
        return [tokenizer.encode(texts[0])]
    return list(tokenizer.encode_batch(texts))


def _at_least(count: int, batches: list[list[int]]) -> list[list[int]]:
    """`batches` with the biggest cut in halves until there are `count` (or every batch holds
    one sequence): a batch of a few short texts, such as the server's merged queries, then
    runs on every lane too."""
    batches = list(batches)
    while len(batches) < count:
        biggest = max(range(len(batches)), key=lambda b: len(batches[b]), default=None)
        if biggest is None or len(batches[biggest]) < 2:
            break
        rows = batches.pop(biggest)
        batches[biggest:biggest] = [rows[: len(rows) // 2], rows[len(rows) // 2 :]]
    return batches


def length_batches(
    lengths: Sequence[int],
    batch_size: int,
    call_tokens: int = CALL_TOKENS,
    unpadded_from: int | None = None,
) -> Iterator[list[int]]:
    """Indices sorted by length, cut into batches of at most `batch_size` texts and
    `call_tokens` padded tokens (a single longer text still goes alone). Texts of at least
    `unpadded_from` tokens are batched one length per batch, never padded; shorter ones with
    texts whose longest is at most twice (or 16 tokens more than) the shortest.

    Padding costs time, and an int8 export's attention skips its mask on unpadded calls of
    long texts (exporter/unpadded.py: 1.04-1.07x faster on documents, a slightly different
    rounding): since long texts are never padded, each takes that one path alone or in any
    batch. Short ones (queries) pad a little instead: one length per call, they ran in more,
    smaller calls that cost 3-6% more CPU (docs/findings.md, 2026-12-07).
    """
    batch: list[int] = []
    for index in sorted(range(len(lengths)), key=lengths.__getitem__):
        shortest, length = (lengths[batch[0]] if batch else 0), lengths[index]
        if unpadded_from is not None and length >= unpadded_from:
            other_length = length != shortest
        else:
            other_length = length > max(2 * shortest, shortest + _PAD_SLACK)
        too_many_tokens = (len(batch) + 1) * length > call_tokens
        if batch and (len(batch) == batch_size or other_length or too_many_tokens):
            yield batch
            batch = []
        batch.append(index)
    if batch:
        yield batch
