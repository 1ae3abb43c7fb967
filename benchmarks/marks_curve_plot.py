"""Draw marks_curve.py's summaries: the change in held-out NDCG@10 against the number of marks.

Left, improve's recipe with random marks, one line per set; right, every other recipe and pick
(the levers tried). Each point is the mean over its seeds with its 95% interval; the zero line
is the model in service (synthetic pairs only), and the issue's targets
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
CURVE = "from base, hard negatives"
"""The label of improve's recipe in docs/marks_curve.jsonl: its lines make the left panel."""


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


Lines = dict[tuple[str, str, str], list[dict[str, Any]]]


def _panel(axes: Any, lines: Lines, name_of: Any) -> None:
    """One line per entry of `lines`, set a little apart at each point so that no interval
    hides another; the zero line, the targets and the axes' labels."""
    leftmost = 0.0
    for line, (key, rows) in enumerate(sorted(lines.items())):
        marks = [row["marked"] + 2.5 * (line - (len(lines) - 1) / 2) for row in rows]
        leftmost = min(leftmost, *marks)
        delta = [row["delta"] for row in rows]
        low = [row["delta"] - row["delta_ci95"][0] for row in rows]
        high = [row["delta_ci95"][1] - row["delta"] for row in rows]
        fewest, most = (f(len(row["seeds"]) for row in rows) for f in (min, max))
        seeds = f"{fewest}-{most} seeds" if fewest < most else f"{most} seed" + "s" * (most > 1)
        axes.errorbar(
            marks, delta, yerr=[low, high], marker="o", capsize=3,
            label=f"{name_of(key)} ({seeds})",
        )  # fmt: skip
    axes.axhline(0, color="grey", linewidth=1, linestyle="--")
    axes.annotate(
        "synthetic pairs only", xy=(1.0, 0), xycoords=("axes fraction", "data"),
        xytext=(-4, 3), textcoords="offset points", ha="right", fontsize=8, color="grey",
    )  # fmt: skip
    # Room right of the last point and above the highest target for the targets' labels;
    # left of zero when a no-mark point sits there, set apart like the others.
    rightmost = max([*TARGETS, *(row["marked"] for rows in lines.values() for row in rows)])
    axes.set_xlim(min(0.0, leftmost - 4), rightmost * 1.2)
    axes.scatter(list(TARGETS), list(TARGETS.values()), marker="x", color="black", zorder=5)
    for count, target in TARGETS.items():
        axes.annotate(f"target +{target:.2f}", (count, target), textcoords="offset points",
                      xytext=(4, 4))  # fmt: skip
    axes.set_xlabel("questions marked with the passage that answers them")
    # Below the axes: inside, it hides the intervals of the points near 100 marks.
    axes.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=1)


def draw(lines: Lines, out: Path, curve: str = CURVE) -> None:
    """Two panels: left, the curve of `curve` (improve's recipe), random marks, one line per
    set; right, every other recipe and pick (the levers tried), one line each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    main = {key: rows for key, rows in lines.items() if key[1:] == ("random", curve)}
    levers = {key: rows for key, rows in lines.items() if key not in main}
    panels = [p for p in (main, levers) if p]
    figure, all_axes = plt.subplots(
        1, len(panels), figsize=(6.5 * len(panels), 6.5), sharey=True, squeeze=False
    )
    for axes, panel in zip(all_axes[0], panels, strict=True):
        if panel is main:
            axes.set_title(
                f"The curve: {curve}, random marks (at 0: the retraining alone)",
                fontsize=10,
            )
            _panel(axes, panel, lambda key: key[0])
        else:
            axes.set_title("Other recipes and picks (the levers tried)", fontsize=10)
            _panel(axes, panel, lambda key: f"{key[0]}, {key[1]}, {key[2]}")
    top = max([*TARGETS.values(), all_axes[0][0].get_ylim()[1]]) + 0.008
    all_axes[0][0].set_ylim(top=top)
    all_axes[0][0].set_ylabel("held-out NDCG@10, change (95% interval)")
    figure.suptitle("What marks buy: a candidate trained on them against the model in service")
    figure.tight_layout()
    figure.savefig(out, dpi=100)
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
