"""Draw marks_curve.py's summaries: the change in held-out NDCG@10 against the number of marks.

One line per (set, strategy, recipe label), each point the mean over its seeds with its 95%
interval; the zero line is the model in service (synthetic pairs only), and the issue's targets
(+0.02 at 100 marks, +0.04 at 200) are drawn as crosses.

    .venv/bin/python benchmarks/marks_curve_plot.py OUT/marks_curve_summaries.jsonl \\
        docs/marks_curve.png [--labels pilot-base,default]

docs/marks_curve.png is drawn from docs/marks_curve.jsonl (the summaries in docs/findings.md).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

TARGETS = {100: 0.02, 200: 0.04}


def read(path: Path, labels: set[str] | None) -> dict[tuple[str, str, str], list[dict[str, Any]]]:
    """The summaries by (set, strategy, label), in order of the marks."""
    lines: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for text in path.read_text().splitlines():
        if not text.strip():
            continue
        row = json.loads(text)
        if labels and row["label"] not in labels:
            continue
        lines.setdefault((row["set"], row["strategy"], row["label"]), []).append(row)
    for rows in lines.values():
        rows.sort(key=lambda row: row["marked"])
    return lines


def draw(lines: dict[tuple[str, str, str], list[dict[str, Any]]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 5.5))
    leftmost = 0.0
    for line, ((name, strategy, label), rows) in enumerate(sorted(lines.items())):
        # Lines side by side at each point, a little apart, so no interval hides another.
        marks = [row["marked"] + 2.5 * (line - (len(lines) - 1) / 2) for row in rows]
        leftmost = min(leftmost, *marks)
        delta = [row["delta"] for row in rows]
        low = [row["delta"] - row["delta_ci95"][0] for row in rows]
        high = [row["delta_ci95"][1] - row["delta"] for row in rows]
        seeds = max(len(row["seeds"]) for row in rows)
        axes.errorbar(
            marks, delta, yerr=[low, high], marker="o", capsize=3,
            label=f"{name}, {strategy}, {label} ({seeds} seed{'s' if seeds > 1 else ''})",
        )  # fmt: skip
    axes.axhline(0, color="grey", linewidth=1, linestyle="--")
    axes.annotate(
        "synthetic pairs only", xy=(1.0, 0), xycoords=("axes fraction", "data"),
        xytext=(-4, 3), textcoords="offset points", ha="right", fontsize=8, color="grey",
    )  # fmt: skip
    # Room right of the last point and above the highest target for the targets' labels.
    # Left of zero when a no-mark point sits there, set apart like the others.
    rightmost = max([*TARGETS, *(row["marked"] for rows in lines.values() for row in rows)])
    axes.set_xlim(min(0.0, leftmost - 4), rightmost * 1.25)
    axes.set_ylim(top=max([*TARGETS.values(), axes.get_ylim()[1]]) + 0.008)
    axes.scatter(list(TARGETS), list(TARGETS.values()), marker="x", color="black", zorder=5)
    for count, target in TARGETS.items():
        axes.annotate(f"target +{target:.2f}", (count, target), textcoords="offset points",
                      xytext=(4, 4))  # fmt: skip
    axes.set_xlabel("questions marked with the passage that answers them")
    axes.set_ylabel("held-out NDCG@10, change (95% interval)")
    axes.set_title("What marks buy: a candidate trained on them against the model in service")
    # Below the axes: inside, it hides the intervals of the points near 100 marks.
    axes.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
    figure.tight_layout()
    figure.savefig(out, dpi=110)
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("summaries", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--labels", default="", help="comma-separated labels to draw (all)")
    args = parser.parse_args(argv)
    labels = set(args.labels.split(",")) if args.labels else None
    lines = read(args.summaries, labels)
    if not lines:
        raise SystemExit(
            f"{args.summaries} holds no summaries{' of ' + args.labels if labels else ''}"
        )
    draw(lines, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
