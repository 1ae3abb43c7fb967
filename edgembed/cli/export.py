"""`edgembed export`: a trained model -> WORKSPACE/exports/<name>/ (ONNX + manifest)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from edgembed.cli.options import (
    CliState,
    bundle,
    defaults_of,
    force_option,
    pass_state,
    questions_option,
)
from edgembed.cli.table import format_table
from edgembed.config import ISA_CHOICES, ExportConfig
from edgembed.errors import ParityError
from edgembed.exporter import ExportResult, export_model
from edgembed.exporter.int8_search import describe
from edgembed.exporter.parity import Parity

__all__ = ["export", "export_options", "int8_rejected", "print_export_summary"]


_E = defaults_of(ExportConfig)

# How a model becomes an export: --quantize, --isa, --accept-parity-loss and --parity-texts.
# `pipeline` takes the same bundle.
export_options = bundle(
    [
        click.option(
            "--quantize/--no-quantize",
            default=_E.quantize,
            show_default=True,
            help="Also write model.int8.onnx (dynamic int8: 3-4x smaller, faster on CPU).",
        ),
        click.option(
            "--isa",
            type=click.Choice(ISA_CHOICES),
            default=_E.isa,
            show_default=True,
            help="CPU family the int8 model is tuned for. auto: this machine's; pass the serving "
            "machine's when it differs (avx2 for older x86 servers, arm64 for Graviton/Apple).",
        ),
        click.option(
            "--accept-parity-loss",
            is_flag=True,
            help="Keep the int8 model even when it fails the accuracy gate.",
        ),
        click.option(
            "--parity-texts",
            type=click.IntRange(min=10),
            default=_E.parity_texts,
            show_default=True,
            help="At most this many eval questions and this many passages in the parity check.",
        ),
    ]
)


def int8_rejected(gate_message: str, out: Path) -> ParityError:
    """The error that ends a command whose export left int8 out (exit status 1)."""
    return ParityError(
        f"{gate_message}. {out} holds the fp32 model only (serve it with --variant fp32). "
        "Pass --accept-parity-loss to keep int8 anyway."
    )


@click.command("export")
@click.argument("model", required=False)
@click.option("--name", default=None, help="Export name (default: the model folder's name).")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Export folder (default: WORKSPACE/exports/<name>).",
)
@force_option("the export folder")
@export_options
@click.option(
    "--max-seq-length",
    type=click.IntRange(min=8),
    default=_E.max_seq_length,
    help="Tokens per input the export serves (longer inputs are truncated or refused). "
    "Default: the model's own window, at most 2048.",
)
@questions_option(
    "JSONL of real questions over WORKSPACE/chunks.jsonl (as for `edgembed evaluate`): "
    "the int8 gate is then decided on them instead of the eval pairs.",
    exists=True,
)
@pass_state
def export(
    state: CliState,
    /,
    model: str | None,
    name: str | None,
    out: Path | None,
    force: bool,
    **options: Any,
) -> None:
    """Export MODEL to ONNX for serving on CPU without PyTorch.

    MODEL is a model folder, bundled:all-MiniLM-L6-v2 or a cached hub id; by default the
    newest folder under WORKSPACE/models/. Writes WORKSPACE/exports/<name>/ with model.onnx
    (fp32), model.int8.onnx, tokenizer.json and manifest.json. The graphs include the model's
    own pooling (mean or CLS) and L2 normalisation, so the server only tokenizes and runs them.

    \b
    Parity check: the eval questions (WORKSPACE/pairs.eval.jsonl, or --questions) are run
    against the chunk corpus with PyTorch, fp32 and int8, beside 20 one-to-three-word inputs,
    and the figures go into manifest.json. The int8 model
    must keep at least 99% of PyTorch's NDCG@10, or lose less than the eval questions can tell
    from noise (95% interval reaching zero) down to 97% (without eval pairs: mean cosine >= 0.99);
    otherwise the export keeps the fp32 model only and the command exits with status 1.
    int8 tries per-channel weights everywhere first; when that keeps under 99.5%, the same with
    each feed-forward's largest GELU channels in an int8 product of their own; then it measures
    which feed-forward output projections lose the most in int8 (one extra quantization each)
    and keeps the 1, 2, 4, ... most sensitive of them in fp32 until a recipe reaches 99.5%
    (with a mean cosine of at least 0.995 to PyTorch).

    \b
    Examples:
      edgembed export                              # newest trained model
      edgembed export bundled:all-MiniLM-L6-v2     # the base model, for comparison
      edgembed export --isa avx2 --force           # int8 tuned for an AVX2 server
    """
    config = ExportConfig(model=model, name=name, out=out, force=force, **options)
    result = export_model(config, state.workspace)
    print_export_summary(result, state)
    if result.int8_kept and options.get("questions") is None and state.verbosity >= 0:
        click.echo(_NO_QUESTIONS_HINT)
    if result.int8_rejected and result.gate is not None:
        raise int8_rejected(result.gate.message, result.out)


_NO_QUESTIONS_HINT = (
    "int8 was judged without real questions; synthetic eval pairs can miss a loss of 1-2% on "
    "them (docs/findings.md). Have your users' questions? `--questions FILE --force` judges "
    "int8 on them."
)


def print_export_summary(result: ExportResult, state: CliState) -> None:
    """Print the parity table, the gate's verdict and what was written."""
    if state.verbosity < 0:
        return
    parity = result.manifest.parity
    columns = _COLUMNS[result.manifest.kind]
    pytorch_ndcg = parity.get("pytorch", {}).get("ndcg_at_10")
    rows = []
    if pytorch_ndcg is not None:  # only with questions
        rows.append(["pytorch", "", "", "", "", "", _num(pytorch_ndcg, 3), "100.0%"])
    sizes = {f.variant: f"{f.bytes / 1e6:.1f}" for f in result.manifest.files if f.variant}
    rows.append(_row(result.fp32, sizes["fp32"], columns))
    rows += [
        _row(p, sizes.get("int8", "") if p is result.int8 else "", columns)
        for p in result.int8_tried
    ]
    headers = ["model", "recipe", "MB", *(c[0] for c in columns), "NDCG@10", "vs torch"]
    click.echo(format_table(headers, rows))
    click.echo(_texts_line(parity.get("texts", {}), result.manifest.kind))
    if result.sensitivity:
        click.echo(
            "int8 sensitivity of the feed-forward output projections (closeness to PyTorch "
            f"with only that one in fp32, most sensitive first): {describe(result.sensitivity)}"
        )
    if result.gate is not None:
        kept = "kept" if result.int8_kept else "left out"
        click.echo(f"gate: {result.gate.message}; int8 {kept}")
    files = ", ".join(f"{f.path} {f.bytes / 1e6:.1f} MB" for f in result.manifest.files)
    click.echo(f"wrote {result.out} ({files}) in {result.seconds:.0f}s")


# The parity columns of each kind: (header, figure in the parity's JSON, digits).
_COLUMNS = {
    "embedder": (("cos min", "cosine_min", 4), ("cos mean", "cosine_mean", 4),
                 ("top-10", "top10_agreement", 3)),
    "reranker": (("pearson min", "pearson_min", 4), ("pearson mean", "pearson_mean", 4),
                 ("max diff", "max_abs_diff", 4)),
}  # fmt: skip


def _texts_line(texts: dict[str, Any], kind: str) -> str:
    source = texts.get("source", "?")
    if kind == "reranker":
        return (
            f"parity on {texts.get('queries', 0)} queries, {texts.get('pairs', 0)} pairs ({source})"
        )
    return (
        f"parity on {texts.get('queries', 0)} queries, {texts.get('passages', 0)} passages "
        f"({source}) and {texts.get('short', 0)} one-to-three-word inputs"
    )


def _row(parity: Parity, size_mb: str, columns: tuple[tuple[str, str, int], ...]) -> list[str]:
    ratio = f"{parity.ndcg_ratio:.1%}" if parity.ndcg_ratio is not None else ""
    figures = parity.to_json()
    return [
        parity.variant,
        parity.recipe or "",
        size_mb,
        *(_num(figures.get(key), digits) for _, key, digits in columns),
        _num(parity.ndcg_at_10, 3),
        ratio,
    ]


def _num(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"
