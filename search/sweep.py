"""Accuracy against N and against generated tokens, for every method (``prm-factory eval-search``).

Whole-solution methods (majority, best-of-n, weighted-sc, and the oracle pass@N) share one draw
of ``max(ns)`` samples per problem, scored once by the PRM; the first N samples make the N-sample
point, so the curves are nested and cost one generation. Step-level methods (greedy-step, beam,
lookahead) run once per N in ``step_ns``. Outputs: ``sweep.json``, ``sweep.md`` (a Markdown
table) and ``search_scaling.png`` (accuracy against N, and against tokens per problem).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from search.config import SAMPLE_METHODS, STEP_METHODS, SearchConfig, equivalent
from search.sampling import prefix_view, result_from_samples


@dataclass
class SweepConfig:
    ns: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64)
    methods: tuple[str, ...] = ("majority", "best-of-n", "weighted-sc", "beam", "lookahead")
    step_ns: tuple[int, ...] = (4, 16)
    search: SearchConfig = field(default_factory=SearchConfig)

    def __post_init__(self):
        unknown = [m for m in self.methods if m not in SAMPLE_METHODS + STEP_METHODS]
        if unknown:
            raise ValueError(f"SweepConfig.methods: unknown {unknown}")
        if not self.ns or min(self.ns) < 1:
            raise ValueError(f"SweepConfig.ns must be positive, got {self.ns}")


def powers_of_two(n_max: int) -> tuple[int, ...]:
    """1, 2, 4, ... up to ``n_max``.

    >>> powers_of_two(16)
    (1, 2, 4, 8, 16)
    """
    out, n = [], 1
    while n <= n_max:
        out.append(n)
        n *= 2
    return tuple(out)


def point(method: str, n: int, accuracy: float, tokens: float, **extra) -> dict:
    return {"method": method, "n": n, "accuracy": round(accuracy, 4), "tokens_per_problem": round(tokens, 1), **extra}


def sample_curves(sampled, ns: Sequence[int], methods: Sequence[str], aggregation: str) -> list[dict]:
    """Points of pass@N (oracle) and each whole-solution method, from one nested draw."""
    points = []
    count = len(sampled)
    for n in ns:
        views = [prefix_view(s, n) for s in sampled]
        tokens = sum(sum(v.tokens) for v in views) / count
        oracle = sum(any(a is not None and equivalent(a, v.problem.gold_answer) for a in v.answers) for v in views)
        points.append(point("pass@n (oracle)", n, oracle / count, tokens))
        for method in methods:
            if method not in SAMPLE_METHODS:
                continue
            results = [result_from_samples(v, method, aggregation) for v in views]
            points.append(point(method, n, sum(r.correct for r in results) / count, tokens))
    return points


def markdown_table(points: Sequence[dict]) -> str:
    """Accuracy (tokens per problem) by method and N.

    >>> print(markdown_table([point("majority", 1, 0.5, 40.0), point("majority", 2, 0.6, 80.0)]))
    | method | N=1 | N=2 |
    |---|---|---|
    | majority | 0.500 (40) | 0.600 (80) |
    """
    ns = sorted({p["n"] for p in points})
    methods = list(dict.fromkeys(p["method"] for p in points))
    lines = ["| method | " + " | ".join(f"N={n}" for n in ns) + " |", "|---|" + "---|" * len(ns)]
    for method in methods:
        cells = []
        for n in ns:
            p = next((p for p in points if p["method"] == method and p["n"] == n), None)
            cells.append("" if p is None else f"{p['accuracy']:.3f} ({p['tokens_per_problem']:.0f})")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_sweep(points: Sequence[dict], path: str | Path, title: str = "") -> Path:
    """Two panels: accuracy against N (log2) and against generated tokens per problem (log)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for method in dict.fromkeys(p["method"] for p in points):
        series = sorted((p for p in points if p["method"] == method), key=lambda p: p["n"])
        style = "--" if method.startswith("pass@") else "-"
        axes[0].plot([p["n"] for p in series], [p["accuracy"] for p in series], style, marker="o", label=method)
        axes[1].plot([p["tokens_per_problem"] for p in series], [p["accuracy"] for p in series], style, marker="o",
                     label=method)
    axes[0].set_xscale("log", base=2)
    axes[0].set_xlabel("N (samples, or candidates per step)")
    axes[1].set_xscale("log")
    axes[1].set_xlabel("generated tokens per problem")
    for ax in axes:
        ax.set_ylabel("accuracy")
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=8, loc="lower right")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
