"""``prm-factory eval-search``: accuracy against N and against generated tokens, for every method.

Whole-solution methods (majority, best-of-n, weighted-sc, and the oracle pass@N) share one draw
of ``max(ns)`` samples per problem, scored once by the PRM; the first N samples make the N-sample
point, so the curves are nested and cost one generation. Step-level methods (greedy-step, beam,
lookahead) run once per N in ``step_ns``. Outputs: ``sweep.json``, ``sweep.md`` (a Markdown
table) and ``search_scaling.png`` (accuracy against N, and against tokens per problem).
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Sequence

from data.records import Problem
from pipelines.engines.base import Engine
from pipelines.search import (SAMPLE_METHODS, STEP_METHODS, SampledSolutions, SearchConfig, claim_run_dir,
                              equivalent, in_resumable_batches, prefix_view, result_from_samples, run_search,
                              sample_solutions, summarize)


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


def _point(method: str, n: int, accuracy: float, tokens: float, **extra) -> dict:
    return {"method": method, "n": n, "accuracy": round(accuracy, 4), "tokens_per_problem": round(tokens, 1), **extra}


def sample_curves(sampled, ns: Sequence[int], methods: Sequence[str], aggregation: str) -> list[dict]:
    """Points of pass@N (oracle) and each whole-solution method, from one nested draw."""
    points = []
    count = len(sampled)
    for n in ns:
        views = [prefix_view(s, n) for s in sampled]
        tokens = sum(sum(v.tokens) for v in views) / count
        oracle = sum(any(a is not None and equivalent(a, v.problem.gold_answer) for a in v.answers) for v in views)
        points.append(_point("pass@n (oracle)", n, oracle / count, tokens))
        for method in methods:
            if method not in SAMPLE_METHODS:
                continue
            results = [result_from_samples(v, method, aggregation) for v in views]
            points.append(_point(method, n, sum(r.correct for r in results) / count, tokens))
    return points


def draw_samples(engine: Engine, problems: Sequence[Problem], cfg: SearchConfig, scorer=None,
                 batches_dir: str | Path | None = None, progress: bool = True) -> list[SampledSolutions]:
    """``sample_solutions`` in batches of ``cfg.batch_problems``, resumable with ``batches_dir``
    (finished batches kept as JSON; :func:`pipelines.search.in_resumable_batches`)."""
    from data.parquet_io import write_json_atomic

    def save(path: Path, got: list[SampledSolutions]) -> None:
        write_json_atomic(path, [{"problem_id": s.problem.problem_id, "texts": s.texts, "tokens": s.tokens,
                                  "answers": s.answers, "step_scores": s.step_scores} for s in got])

    def load(path: Path, batch: list[Problem]) -> list[SampledSolutions]:
        return [SampledSolutions(p, r["texts"], r["tokens"], r["answers"], r["step_scores"])
                for p, r in zip(batch, json.loads(path.read_text()))]

    def compute(batch: list[Problem]) -> list[SampledSolutions]:
        return sample_solutions(engine, batch, cfg, scorer)

    return in_resumable_batches(problems, cfg.batch_problems, compute, batches_dir, "json", save, load,
                                f"sample draw n={cfg.n}", progress)


def run_sweep(engine: Engine, problems: Sequence[Problem], cfg: SweepConfig, scorer=None,
              progress: bool = True, work_dir: str | Path | None = None) -> dict:
    """Every point of the sweep, with wall time per stage. With ``work_dir``, finished sample
    batches and step-method batches are kept there, so a rerun after a kill redoes only the rest."""
    start = time.perf_counter()
    sample_methods = [m for m in cfg.methods if m in SAMPLE_METHODS]
    needs_prm = any(m != "majority" for m in cfg.methods)
    if needs_prm and scorer is None:
        raise ValueError("eval-search: the PRM methods need --prm")
    timings = {}
    points: list[dict] = []
    draw_cfg = replace(cfg.search, method="best-of-n" if scorer else "majority", n=max(cfg.ns))
    work = Path(work_dir) if work_dir is not None else None
    sampled = draw_samples(engine, problems, draw_cfg, scorer if needs_prm else None,
                           work / "draw" if work is not None else None, progress)
    timings["sample_draw_s"] = round(time.perf_counter() - start, 2)
    points.extend(sample_curves(sampled, cfg.ns, sample_methods or ["majority"], cfg.search.aggregation))
    for method in cfg.methods:
        if method not in STEP_METHODS:
            continue
        for n in cfg.step_ns:
            t0 = time.perf_counter()
            step_cfg = replace(cfg.search, method=method, n=n)
            results = run_search(engine, problems, step_cfg, scorer, progress=progress,
                                 batches_dir=work / "step" / f"{method}-n{n}" if work is not None else None)
            summary = summarize(results, step_cfg, time.perf_counter() - t0)
            points.append(_point(method, n, summary["accuracy"], summary["tokens_per_problem"],
                                 samples_per_problem=summary["samples_per_problem"], wall_s=summary["wall_s"]))
    timings["total_s"] = round(time.perf_counter() - start, 2)
    return {"problems": len(problems), "points": points, "timings": timings, "config": asdict(cfg)}


def markdown_table(points: Sequence[dict]) -> str:
    """Accuracy (tokens per problem) by method and N.

    >>> print(markdown_table([_point("majority", 1, 0.5, 40.0), _point("majority", 2, 0.6, 80.0)]))
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


def sweep_to_dir(engine: Engine, problems: Sequence[Problem], cfg: SweepConfig, out_dir: str | Path,
                 scorer=None, extra: dict | None = None, progress: bool = True) -> dict:
    """Run the sweep; write ``sweep.json``, ``sweep.md`` and ``search_scaling.png`` under ``out_dir``."""
    from data.parquet_io import write_json_atomic

    if not problems:
        raise ValueError("eval-search: no problems")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    claim_run_dir(out_dir / "sweep_run.json", {"config": asdict(cfg), **(extra or {})}, problems)
    sweep = run_sweep(engine, problems, cfg, scorer, progress, work_dir=out_dir / "work")
    sweep.update(extra or {})
    table = markdown_table(sweep["points"])
    (out_dir / "sweep.md").write_text(
        f"Accuracy (generated tokens per problem) on {sweep['problems']} problems.\n\n{table}\n")
    sweep["plot"] = str(plot_sweep(sweep["points"], out_dir / "search_scaling.png",
                                   f"{sweep['problems']} problems"))
    write_json_atomic(out_dir / "sweep.json", sweep)
    return sweep
