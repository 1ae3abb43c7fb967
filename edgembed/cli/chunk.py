"""`edgembed chunk`: documents -> chunks.jsonl."""

from __future__ import annotations

from pathlib import Path

import click

from edgembed.cli.options import CliState, bundle, defaults_of, pass_state
from edgembed.cli.table import format_table
from edgembed.config import ChunkConfig
from edgembed.corpus.build import Corpus, build_corpus

__all__ = ["chunk", "chunk_options", "print_chunk_summary"]


_C = defaults_of(ChunkConfig)

# --chunk-words and --overlap-words, shared with the commands that chunk documents.
chunk_options = bundle(
    [
        click.option(
            "--chunk-words",
            type=click.IntRange(min=50),
            default=_C.chunk_words,
            show_default=True,
            help="Target words per chunk (chunks end at paragraph and heading boundaries). The "
            "default fits the 256-token window of all-MiniLM-L6-v2; a model trained on longer "
            "passages can take more.",
        ),
        click.option(
            "--overlap-words",
            type=click.IntRange(min=0),
            default=_C.overlap_words,
            show_default=True,
            help="Words repeated between consecutive chunks of one section.",
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
def chunk(state: CliState, docs: Path, chunk_words: int, overlap_words: int, strict: bool) -> None:
    """Read the documents in DOCS and cut them into passages.

    Reads .txt, .md, .html, .pdf and .docx files (recursively) and writes
    WORKSPACE/chunks.jsonl: one passage of about --chunk-words words per line, with its
    document, title, section and a stable id. Files that cannot be read are skipped and
    listed. A file named questions.jsonl is left out without a word: it is the real-question
    set that `evaluate` uses, never a document. Re-running overwrites chunks.jsonl (it is
    derived from your documents).
    """
    config = ChunkConfig(docs=docs, chunk_words=chunk_words, overlap_words=overlap_words)
    summary = build_corpus(config, state.workspace)
    print_chunk_summary(summary, state)
    if strict and summary.skipped:
        raise click.ClickException(f"{len(summary.skipped)} file(s) skipped (--strict)")


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
