"""Search runs on disk: resumable batches, one method over many problems, and the N sweep.

``search_to_dir`` writes ``results.parquet`` and ``summary.json``; ``sweep_to_dir`` writes
``sweep.json``, ``sweep.md`` and ``search_scaling.png``. Finished batches are kept, so a run
killed at any point and rerun redoes only the rest, and a rerun with other settings into the
same folder is refused.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Callable, Sequence

from data.records import Problem, SearchResult
from engines.base import Engine
from search.config import SAMPLE_METHODS, STEP_METHODS, Scorer, SearchConfig, summarize
from search.sampling import SampledSolutions, result_from_samples, sample_solutions
from search.step_search import step_search
from search.sweep import SweepConfig, markdown_table, plot_sweep, point, sample_curves


def in_resumable_batches(problems: Sequence[Problem], batch_size: int, compute: Callable[[list], list],
                         batches_dir: str | Path | None, suffix: str, save: Callable[[Path, list], None],
                         load: Callable[[Path, list], list], desc: str, progress: bool = True) -> list:
    """``compute`` over batches of ``batch_size`` problems, concatenated in problem order.

    With ``batches_dir``, each finished batch is saved there (``batch-NNNNN.<suffix>``, atomically)
    and a batch already there is loaded instead of computed again: a run killed at any point and
    rerun redoes only the unfinished batches, and since every seed derives from the problem, the
    result equals an uninterrupted run.
    """
    from tqdm import tqdm

    out: list = []
    bar = tqdm(total=len(problems), desc=desc, unit="problem", disable=not progress)
    for index, start in enumerate(range(0, len(problems), batch_size)):
        batch = list(problems[start:start + batch_size])
        done = Path(batches_dir) / f"batch-{index:05d}.{suffix}" if batches_dir is not None else None
        if done is not None and done.exists():
            got = load(done, batch)
        else:
            got = compute(batch)
            if done is not None:
                save(done, got)
        out.extend(got)
        bar.update(len(batch))
    bar.close()
    return out


def run_search(engine: Engine, problems: Sequence[Problem], cfg: SearchConfig, scorer: Scorer | None = None,
               progress: bool = True, batches_dir: str | Path | None = None) -> list[SearchResult]:
    """One ``SearchResult`` per problem, in problem order; resumable with ``batches_dir``
    (:func:`in_resumable_batches`)."""
    from data.parquet_io import read_records, write_records

    if cfg.uses_prm and scorer is None:
        raise ValueError(f"method {cfg.method!r} needs a PRM (--prm)")

    def compute(batch: list[Problem]) -> list[SearchResult]:
        if cfg.method in SAMPLE_METHODS:
            sampled = sample_solutions(engine, batch, cfg, scorer if cfg.uses_prm else None)
            return [result_from_samples(s, cfg.method, cfg.aggregation) for s in sampled]
        return step_search(engine, scorer, batch, cfg)

    return in_resumable_batches(problems, cfg.batch_problems, compute, batches_dir, "parquet", write_records,
                                lambda path, _batch: read_records(path, SearchResult),
                                f"search {cfg.method} n={cfg.n}", progress)


def claim_run_dir(run_file: Path, settings: dict, problems: Sequence[Problem]) -> None:
    """Record what a resumable run computes; refuse to mix another run's partial results into it."""
    from data.parquet_io import write_json_atomic
    from data.records import content_id

    identity = json.loads(json.dumps({**settings, "problems": content_id(*(p.problem_id for p in problems))},
                                     default=str))
    if run_file.exists():
        before = json.loads(run_file.read_text())
        differ = sorted(k for k in set(before) | set(identity) if before.get(k) != identity.get(k))
        if differ:
            raise ValueError(f"{run_file.parent} holds a run with other settings ({', '.join(differ)}); "
                             f"use another --out or delete it")
    write_json_atomic(run_file, identity)


def search_to_dir(engine: Engine, problems: Sequence[Problem], cfg: SearchConfig, out_dir: str | Path,
                  scorer: Scorer | None = None, extra: dict | None = None, progress: bool = True) -> dict:
    """Write ``out_dir/results.parquet`` (one row per problem) and ``out_dir/summary.json``.

    Finished batches are kept under ``out_dir/batches/``: rerunning the same command after a kill
    searches only the rest. A rerun with other settings or problems into the same folder is refused.
    """
    from data.parquet_io import write_json_atomic, write_records

    if not problems:
        raise ValueError("search: no problems")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    claim_run_dir(out_dir / "search_run.json", {"config": asdict(cfg), **(extra or {})}, problems)
    start = time.perf_counter()
    results = run_search(engine, problems, cfg, scorer, progress, batches_dir=out_dir / "batches")
    summary = summarize(results, cfg, time.perf_counter() - start)
    summary.update(extra or {})
    write_records(out_dir / "results.parquet", results)
    write_json_atomic(out_dir / "summary.json", summary)
    return summary


def draw_samples(engine: Engine, problems: Sequence[Problem], cfg: SearchConfig, scorer=None,
                 batches_dir: str | Path | None = None, progress: bool = True) -> list[SampledSolutions]:
    """``sample_solutions`` in batches of ``cfg.batch_problems``, resumable with ``batches_dir``
    (finished batches kept as JSON; :func:`in_resumable_batches`)."""
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
            points.append(point(method, n, summary["accuracy"], summary["tokens_per_problem"],
                                 samples_per_problem=summary["samples_per_problem"], wall_s=summary["wall_s"]))
    timings["total_s"] = round(time.perf_counter() - start, 2)
    return {"problems": len(problems), "points": points, "timings": timings, "config": asdict(cfg)}


def sweep_to_dir(engine: Engine, problems: Sequence[Problem], cfg: SweepConfig, out_dir: str | Path,
                 scorer=None, extra: dict | None = None, progress: bool = True) -> dict:
    """Run the sweep; write ``sweep.json``, ``sweep.md`` and ``search_scaling.png`` under ``out_dir``."""
    from data.parquet_io import write_json_atomic

    if not problems:
        raise ValueError("eval-search: no problems")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    claim_run_dir(out_dir / "sweep_run.json", {"config": asdict(cfg), **(extra or {})}, problems)
    sweep = run_sweep(engine, problems, cfg, scorer, progress, work_dir=out_dir / "parts")
    sweep.update(extra or {})
    table = markdown_table(sweep["points"])
    (out_dir / "sweep.md").write_text(
        f"Accuracy (generated tokens per problem) on {sweep['problems']} problems.\n\n{table}\n")
    sweep["plot"] = str(plot_sweep(sweep["points"], out_dir / "search_scaling.png",
                                   f"{sweep['problems']} problems"))
    write_json_atomic(out_dir / "sweep.json", sweep)
    return sweep
