"""edgembed check: an export's int8 model checked on this CPU, without PyTorch."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from edgembed.cli.table import format_table
from edgembed.errors import ParityError

if TYPE_CHECKING:
    from edgembed.runtime.int8_check import Int8Check

__all__ = ["check"]


@click.command()
@click.argument("export_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--texts",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help='Texts to compare on: one a line, or a JSONL file with a "text" field a line (a '
    "workspace's chunks.jsonl); the first 1,000. Default: built-in varied sentences and "
    "one-to-three-word inputs.",
)
@click.option(
    "--min-cosine",
    type=click.FloatRange(0.0, 1.0),
    default=0.99,
    show_default=True,
    help="int8 passes when its vectors' mean cosine to fp32's is at least this (a reranker's: "
    "the mean Pearson correlation of a query's scores); the export gate's floor without "
    "questions.",
)
@click.option(
    "--record/--no-record",
    default=True,
    show_default=True,
    help="On a pass, add this CPU's int8 class to the export's manifest.json.",
)
def check(export_dir: Path, texts: Path | None, min_cosine: float, record: bool) -> None:
    """Check EXPORT_DIR's int8 model on this CPU, so `serve` can use it here.

    An export's int8 file is validated on the kind of int8 arithmetic of the CPU it was
    exported on (AVX-512 VNNI, AVX2, ARM, ...), and `serve` uses it only on that kind; on
    another it serves the slower fp32 file and says so. This runs int8 beside fp32 on this
    CPU, on the same texts (no PyTorch needed: the container has what it takes), and when
    int8 keeps a mean cosine of at least --min-cosine, records this CPU's kind in
    manifest.json (the model files are not touched). Exit status 1 when int8 fails here:
    serve fp32, or export again on a CPU like this one.

    A reranker export is checked the same way on its scores: built-in questions each score
    the texts (--texts: your passages) with int8 and fp32, and int8 passes on the mean
    Pearson correlation of a question's scores.

    \b
    Examples:
      edgembed check exports/edgembed-model
      edgembed check exports/edgembed-model --texts workspace/chunks.jsonl
      edgembed check /models/edgembed-model --no-record   # a read-only mount: report only
      edgembed check exports/edgembed-reranker --texts workspace/chunks.jsonl
    """
    from edgembed.evaluation.texts import BUILTIN_TEXTS, SHORT_TEXTS
    from edgembed.runtime.int8_check import check_int8, read_texts, record_check

    if texts is None:
        inputs, source = [*BUILTIN_TEXTS, *SHORT_TEXTS], "built-in sentences"
    else:
        inputs, source = read_texts(texts), str(texts)
    questions = [text for text in BUILTIN_TEXTS if text.endswith("?")]  # a reranker's queries
    result = check_int8(export_dir, inputs, source, min_cosine, queries=questions)
    if result.measure == "cosine":
        mean, worst, counted = "mean cosine", "worst text", "texts"
    else:
        mean, worst, counted = "mean Pearson of a query's scores", "worst query", "pairs"
    rows = [[f"int8 vs fp32, {mean}", f"{result.mean:.6f}"],
            [f"int8 vs fp32, {worst}", f"{result.worst:.6f}"],
            [counted, f"{result.texts} ({result.source})"],
            ["this CPU's int8 kind", result.cpu],
            ["validated on", ", ".join(result.validated or ()) or "(not recorded)"]]  # fmt: skip
    click.echo(format_table(["", export_dir.name], rows))
    if not result.passed:
        raise ParityError(
            f"int8 on this CPU ({result.cpu}) keeps a mean {result.measure_name} of "
            f"{result.mean:.6f} to fp32, under {min_cosine}: its int8 arithmetic loses accuracy "
            "with this file. "
            "Serve --variant fp32 (auto does), or export again on a CPU like this one "
            "(`edgembed export --isa avx2` for AVX2 servers). Nothing was recorded."
        )
    if not result.new_class:
        click.echo(f"PASSED. {_not_recorded(result)}")
    elif record:
        record_check(export_dir, result)
        click.echo(f"PASSED and recorded: `serve` uses int8 on {result.cpu} CPUs now.")
    else:
        click.echo("PASSED (not recorded: --no-record). `serve` still uses fp32 here.")


def _not_recorded(result: Int8Check) -> str:
    if result.cpu == "unknown":
        return "This CPU's int8 kind is unknown, so nothing was recorded."
    if result.validated is None:
        return (
            "The export predates the CPU record, so `serve` uses its int8 on every CPU; "
            "nothing to record (export again to have int8 validated per kind of CPU)."
        )
    return f"{result.cpu} was already validated; nothing to record."
