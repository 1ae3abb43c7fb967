"""`edgembed chunk`: documents -> chunks.jsonl."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from edgembed.cli.options import CliState, bundle, defaults_of, pass_state
from edgembed.cli.table import format_table
from edgembed.config import ChunkConfig
from edgembed.corpus.build import Corpus, build_corpus
from edgembed.models import BUNDLED_MINILM
from edgembed.models.window import chunk_words_for

__all__ = ["chunk", "chunk_config", "chunk_options", "print_chunk_summary"]


_C = defaults_of(ChunkConfig)

# --chunk-words and --overlap-words, shared with the commands that chunk documents.
chunk_options = bundle(
    [
        click.option(
            "--chunk-words",
            type=click.IntRange(min=50),
            default=None,
            help="Target words per chunk (chunks end at paragraph and heading boundaries). "
            f"Default: what fills --chunk-model's window as {_C.chunk_words} words fill "
            "all-MiniLM-L6-v2's 256 tokens (scaled by its window, less its document prompt, and "
            "its tokenizer; at most 400).",
        ),
        click.option(
            "--chunk-model",
            default=BUNDLED_MINILM,
            show_default=True,
            help="The embedding model the chunks are sized for (`pipeline` uses --base-model).",
        ),
        click.option(
            "--overlap-words",
            type=click.IntRange(min=0),
            default=None,
            help="Words repeated between consecutive chunks of one section. Default: 15% of "
            f"--chunk-words ({_C.overlap_words} for {_C.chunk_words}).",
        ),
    ]
)


@click.command()
@click.argument("docs", type=click.Path(path_type=Path))
@chunk_options
@click.option(
    "--strict",
    is_flag=True,
    help="Exit non-zero if any file had to be skipped (questions.jsonl is not skipped: it is "
    "never a document).",
)
@pass_state
def chunk(state: CliState, /, docs: Path, strict: bool, **options: Any) -> None:
    """Read the documents in DOCS and cut them into passages.

    Reads .txt, .md, .html, .pdf and .docx files (recursively) and writes
    WORKSPACE/chunks.jsonl: one passage of about --chunk-words words per line, with its
    document, title, section and a stable id. Files that cannot be read are skipped and
    listed. A file named questions.jsonl is left out without a word: it is the real-question
    set that `evaluate` uses, never a document. Re-running overwrites chunks.jsonl (it is
    derived from your documents).
    """
    config = chunk_config(docs, options)
    summary = build_corpus(config, state.workspace)
    print_chunk_summary(summary, state)
    if strict and summary.skipped:
        raise click.ClickException(f"{len(summary.skipped)} file(s) skipped (--strict)")


def chunk_config(docs: Path, options: Mapping[str, Any]) -> ChunkConfig:
    """The ChunkConfig of DOCS from the values of `chunk_options`: the chunk size the model
    needs when --chunk-words is not given, and 15% of it as overlap."""
    words = options["chunk_words"] or chunk_words_for(options["chunk_model"])
    overlap = options["overlap_words"]
    if overlap is None:
        overlap = round(words * _C.overlap_words / _C.chunk_words)
    return ChunkConfig(docs=docs, chunk_words=words, overlap_words=overlap)


def print_chunk_summary(summary: Corpus, state: CliState) -> None:
    """Print what was read, skipped and written."""
    if state.verbosity < 0:
        return
    low, mean, high = summary.words_per_chunk
    click.echo(
        format_table(
            ["documents read", "skipped", "chunks", "words/chunk min", "mean", "max"],
            [
                [
                    summary.documents,
                    len(summary.skipped),
                    len(summary.chunks),
                    low,
                    round(mean),
                    high,
                ]
            ],
        )
    )
    for name, reason in summary.skipped:
        click.echo(f"skipped {name}: {reason}", err=True)
    click.echo(f"wrote {state.workspace.chunks}")
