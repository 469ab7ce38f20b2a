"""The two plots of a label run's report: a reliability diagram and the soft labels by true label.

matplotlib is imported inside the functions that draw (Agg canvas, no pyplot).
"""
from __future__ import annotations

import os
from pathlib import Path

def save_png(fig, path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fig.savefig(tmp, format="png", dpi=110, metadata={"Software": None})
    os.replace(tmp, path)


def plot_calibration(table: list[dict], truth_name: str, n_steps: int, ece: float | None, path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 5.4))
    ax = fig.add_subplot(1, 1, 1)
    width = table[0]["hi"] - table[0]["lo"] if table else 0.1
    filled = [r for r in table if r["count"]]
    ax.plot([0, 1], [0, 1], ls="--", color="0.55", lw=1, label="perfect calibration")
    if filled:
        ax.bar([r["lo"] + width / 2 for r in filled], [r["frac_positive"] for r in filled], width=width * 0.92,
               color="#8fb3d9", edgecolor="#3a6ea5", label=f"fraction {truth_name}-positive")
        ax.plot([r["mean_soft"] for r in filled], [r["frac_positive"] for r in filled], "o-", color="#c0392b",
                ms=4, lw=1.2, label="at mean soft label of bin")
        for r in filled:
            y = r["frac_positive"]
            ax.text(r["lo"] + width / 2, min(y + 0.02, 1.02), f"n={r['count']}", ha="center", va="bottom",
                    fontsize=7, color="0.2")
    else:
        ax.text(0.5, 0.5, "no labeled steps", ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.1)
    ax.set_xlabel("soft label (fraction of correct rollouts), binned")
    ax.set_ylabel(f"fraction of steps {truth_name}-positive")
    note = f"{n_steps:,} steps" + (f", expected calibration error {ece:.3f}" if ece is not None else "")
    if truth_name == "gold":
        title = f"Soft-label calibration against gold step labels\n{note}"
    else:
        title = f"Soft-label calibration against hard MC labels (no gold labels)\n{note}"
    ax.set_title(title, fontsize=10.5)
    if filled:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3, fontsize=8, frameon=False)
    ax.grid(alpha=0.25)
    fig.tight_layout()
    save_png(fig, path)


def plot_balance(soft: list[float], truth: list[bool], truth_name: str, path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.add_subplot(1, 1, 1)
    pos = [s for s, t in zip(soft, truth) if t]
    neg = [s for s, t in zip(soft, truth) if not t]
    labels = [f"{truth_name}-negative ({len(neg)})", f"{truth_name}-positive ({len(pos)})"]
    colors = ["#d9534f", "#5cb85c"]
    values = sorted(set(soft))
    if soft and len(values) <= 21:
        # A fixed rollout count N gives soft labels k/N: one bar per value reads better than a histogram.
        gap = min((b - a for a, b in zip(values, values[1:])), default=0.1)
        width = min(gap, 0.1) * 0.8
        n_neg = [sum(1 for s in neg if s == v) for v in values]
        n_pos = [sum(1 for s in pos if s == v) for v in values]
        ax.bar(values, n_neg, width=width, color=colors[0], label=labels[0])
        ax.bar(values, n_pos, width=width, bottom=n_neg, color=colors[1], label=labels[1])
        ax.set_xlim(-width, 1 + width)
        ax.set_ylim(0, 1.12 * max(a + b for a, b in zip(n_neg, n_pos)))
    elif soft:
        edges = [i / 20 for i in range(21)]
        ax.hist([neg, pos], bins=edges, stacked=True, color=colors, edgecolor="white", label=labels)
        ax.set_ylim(0, ax.get_ylim()[1] * 1.1)
        ax.set_xlim(0, 1)
    else:
        ax.text(0.5, 0.5, "no labeled steps", ha="center", va="center", transform=ax.transAxes, color="0.4")
        ax.set_xlim(0, 1)
    if soft:
        ax.legend(loc="best", fontsize=8, framealpha=0.9, edgecolor="none")
    ax.set_xlabel("soft label (fraction of correct rollouts)")
    ax.set_ylabel("steps")
    split = "gold label" if truth_name == "gold" else "hard MC label (no gold labels)"
    ax.set_title(f"Soft labels by {split}", fontsize=11)
    ax.grid(axis="y", alpha=0.25)
    fig.tight_layout()
    save_png(fig, path)
