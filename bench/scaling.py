"""Scaling: engine actors, cluster nodes, number of traces and steps per trace.

All runs are the factory's ``run_label`` (``full``, N = ``--rollouts``, vLLM engine) on traces of
the held-out synthetic problems, with the probe of ``bench/engine_efficiency.py``.

* Actors: the same traces with 1 and 2 engine actors on a local Ray, and 2 actors on a two-node
  local ``ray.cluster_utils.Cluster`` (one CPU per node). Four shards, so 2 actors both get work.
  The dev box has 2 cores shared with other jobs: a second actor competes for the same cores.
* Traces: end-to-end wall time and generated tokens per labeled step at several input sizes
  (fixed start-up costs amortize as the input grows).
* Steps per trace: one run whose shards each hold traces of a single step count (2 to 5), so each
  shard's in-actor time and tokens give the cost per labeled step for that count, free of start-up.

    python bench/scaling.py            # 100, 300, 1000 traces; actors on 300; 100 traces per step count
    python bench/scaling.py --quick    # 25 and 100 traces; actors on 100; 12 traces per step count

Prints tables and writes ``bench/results/scaling.json`` (or ``--out``) through ``bench/result_io.py``.
Its goal: the first rollout within 8 s of the start of the run (``run_label``'s call: Ray start, the
actor, its engine and the first request), read at the largest size. ``bench/startup.py`` measures
the same from the command's start, alone.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.engine_efficiency import RESULTS, ensure_traces, probed_label  # noqa: E402
from bench.result_io import figure, write_result  # noqa: E402

TITLE = "Scaling: traces, engine actors, cluster nodes and steps per trace"


def _subset(traces: list, n: int, path: Path) -> Path:
    from data.parquet_io import write_records

    if not path.exists():
        write_records(path, traces[:n])
    return path


def _label(traces: Path, out: Path, policy: str, rollouts: int, shard_size: int, actors: int = 1,
           ray_address: str | None = None, shards_per_actor: int = 2) -> dict:
    from pipelines.label_run import LabelRunConfig
    from labelers.rounds import LabelConfig
    from engines.ray_pool import PoolConfig

    load = os.getloadavg()[0]
    stats = probed_label(LabelRunConfig(
        traces=str(traces), out=str(out), label=LabelConfig(strategy="full", rollouts=rollouts), engine="vllm",
        engine_kwargs={"model": policy}, shard_size=shard_size,
        pool=PoolConfig(actors=actors, ray_address=ray_address, shards_per_actor=shards_per_actor), progress=False))
    e2e = stats["probe"]["end_to_end_s"]
    return {"traces": stats["traces"], "steps": stats["steps"], "rollouts": stats["rollouts"],
            "generated_tokens": stats["generated_tokens"], "generate_s": stats["generate_s"],
            "end_to_end_s": e2e, "ray_init_s": stats["startup"].get("ray_init_s"),
            "first_rollout_s": stats["startup"].get("first_rollout_s"), "nodes": len(stats["nodes"]),
            # ray_init_s + until_first_shard_s = first_rollout_s (the figure adds them)
            "until_first_shard_s": round(stats["startup"]["first_rollout_s"] - stats["startup"]["ray_init_s"], 3),
            "engine_wait_grading_s": stats.get("engine_wait_grading_s"),
            "tokens_per_s": round(stats["generated_tokens"] / e2e, 1),
            "tokens_per_step": round(stats["generated_tokens"] / max(1, stats["steps"]), 2),
            "wall_ms_per_step": round(1000 * e2e / max(1, stats["steps"]), 2),
            "load_avg_1min": [round(load, 2), round(os.getloadavg()[0], 2)]}


def actors_sweep(traces: Path, work: Path, policy: str, rollouts: int, n: int, base: dict | None) -> dict:
    import ray
    from ray.cluster_utils import Cluster

    shard = -(-n // 4)
    out = {"1_actor_local": base or _label(traces, work / f"actors1_{time.time_ns()}", policy, rollouts, shard)}
    out["2_actors_local"] = _label(traces, work / f"actors2_{time.time_ns()}", policy, rollouts, shard, actors=2)
    ray.shutdown()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    cluster.add_node(num_cpus=1)
    try:
        out["2_actors_two_nodes"] = _label(traces, work / f"nodes2_{time.time_ns()}", policy, rollouts, shard,
                                           actors=2, ray_address=cluster.address)
    finally:
        ray.shutdown()
        cluster.shutdown()
    one = out["1_actor_local"]["tokens_per_s"]
    for r in out.values():
        r["speedup_vs_1_actor"] = round(r["tokens_per_s"] / one, 3)
    return out


def steps_sweep(valid: list, work: Path, policy: str, rollouts: int, per_count: int) -> dict:
    """One run, one shard per step count; per-shard in-actor cost per labeled step."""
    from data.parquet_io import read_rows, write_records

    groups = {k: [t for t in valid if len(t.steps) == k][:per_count] for k in (2, 3, 4, 5)}
    m = min(len(g) for g in groups.values())
    ordered = [t for k in (2, 3, 4, 5) for t in groups[k][:m]]
    path = work / f"steps_{m}x4.parquet"
    if not path.exists():
        write_records(path, ordered)
    out_dir = work / f"steps_{time.time_ns()}"
    _label(path, out_dir, policy, rollouts, shard_size=m, shards_per_actor=1)  # one shard at a time: its own time
    result = {}
    for index, k in enumerate((2, 3, 4, 5)):
        marker = json.loads((out_dir / "done" / f"shard-{index:05d}.json").read_text())
        rows = read_rows(out_dir / "labels" / f"shard-{index:05d}.parquet")
        steps = sum(len(r["labels"]) for r in rows)
        result[str(k)] = {"traces": len(rows), "labeled_steps": steps, "rollouts": marker["rollouts"],
                          "generated_tokens": marker["generated_tokens"],
                          "rollouts_per_step": round(marker["rollouts"] / steps, 3),
                          "tokens_per_step": round(marker["generated_tokens"] / steps, 2),
                          "actor_ms_per_step": round(1000 * marker["probe_work_s"] / steps, 2),
                          "generate_ms_per_step": round(1000 * marker["generate_s"] / steps, 2)}
    return result


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes (used by make bench)")
    parser.add_argument("--sizes", default=None, help="comma-separated trace counts (default 100,300,1000)")
    parser.add_argument("--actors-traces", type=int, default=None, help="traces for the actor sweep")
    parser.add_argument("--per-step-count", type=int, default=None, help="traces per step count (2..5)")
    parser.add_argument("--rollouts", type=int, default=8)
    parser.add_argument("--work", default=str(ROOT / "runs" / "bench_scaling"))
    parser.add_argument("--out", default=str(RESULTS / "scaling.json"))
    args = parser.parse_args(argv)
    sizes = [int(x) for x in (args.sizes or ("25,100" if args.quick else "100,300,1000")).split(",")]
    actors_n = args.actors_traces or (100 if args.quick else 300)
    per_count = args.per_step_count or (12 if args.quick else 100)

    from data.assets import default_policy_path
    from data.synthetic import SynthSplit
    from data.trace_io import load_traces
    from pipelines.label_run import split_valid
    from engines.runtime import configure_runtime

    work = Path(args.work)
    configure_runtime()
    policy = str(default_policy_path())
    need = max(sizes + [actors_n, 6 * per_count])
    problems, samples = (-(-need // 4), 4)
    gen = ensure_traces(work / f"gen_{problems}x{samples}", SynthSplit().heldout(problems), samples)
    valid, _ = split_valid(load_traces(gen), 2000)

    by_size = {}
    for n in sizes:
        path = _subset(valid, n, work / f"traces_{n}.parquet")
        by_size[str(n)] = _label(path, work / f"size{n}_{time.time_ns()}", policy, args.rollouts, -(-n // 4))
    path = _subset(valid, actors_n, work / f"traces_{actors_n}.parquet")
    actors = actors_sweep(path, work, policy, args.rollouts, actors_n, by_size.get(str(actors_n)))
    steps = steps_sweep(valid, work, policy, args.rollouts, per_count)

    report = {"config": vars(args) | {"sizes": sizes, "actors_traces": actors_n, "per_step_count": per_count},
              "cpu_count": os.cpu_count(), "by_traces": by_size, "actors": actors, "by_steps": steps}
    print(f"{'traces':>6s} {'steps':>6s} {'tokens':>8s} {'e2e_s':>7s} {'tok/s':>7s} {'tok/step':>8s} {'ms/step':>8s}")
    for n, r in by_size.items():
        print(f"{n:>6s} {r['steps']:6d} {r['generated_tokens']:8d} {r['end_to_end_s']:7.1f} {r['tokens_per_s']:7.1f} "
              f"{r['tokens_per_step']:8.1f} {r['wall_ms_per_step']:8.1f}")
    print(f"{'setup':20s} {'nodes':>5s} {'e2e_s':>7s} {'tok/s':>7s} {'speed-up':>8s}")
    for name, r in actors.items():
        print(f"{name:20s} {r['nodes']:5d} {r['end_to_end_s']:7.1f} {r['tokens_per_s']:7.1f} "
              f"{r['speedup_vs_1_actor']:8.3f}")
    print(f"{'steps':>5s} {'traces':>6s} {'roll/step':>9s} {'tok/step':>8s} {'actor ms/step':>13s}")
    for k, r in steps.items():
        print(f"{k:>5s} {r['traces']:6d} {r['rollouts_per_step']:9.2f} {r['tokens_per_step']:8.1f} "
              f"{r['actor_ms_per_step']:13.1f}")
    write_result(args.out, "scaling", TITLE, figures(report), report)
    return report


def figures(report: dict) -> list[dict]:
    """The envelope's figures: time to first rollout and tokens/s at the largest size, then the actor speed-ups.

    A ``--quick`` run's figures stay out of the README's table (its sizes are for smoke runs).

    >>> run = {"ray_init_s": 4.2, "first_rollout_s": 20.6, "tokens_per_s": 3512.6}
    >>> actors = {"2_actors_local": {"speedup_vs_1_actor": 1.77}}
    >>> body = {"config": {}, "by_traces": {"1000": run}, "actors": actors}
    >>> [(f["value"], f["met"]) for f in figures(body)]
    [(20.6, None), (3512.6, None), (1.77, None)]
    """
    largest = max(report["by_traces"], key=int)
    run = report["by_traces"][largest]
    out = [figure("time_to_first_rollout_s", f"time to first rollout, s ({int(largest):,} traces)",
                  run.get("first_rollout_s", run.get("until_first_shard_s")), None,
                  "from the call of run_label; bench/startup.py checks the goal"
                  if "first_rollout_s" in run else "an older run: time until the first shard finished"),
           figure(f"tokens_per_s_{largest}", f"generated tokens/s, end to end, 1 engine actor "
                  f"({int(largest):,} traces)", run["tokens_per_s"])]
    for name, r in report["actors"].items():
        if name != "1_actor_local":
            count, _, where = name.split("_", 2)
            out.append(figure(f"speedup_{name}", f"{count} engine actors ({where.replace('_', ' ')}) / 1 actor, "
                              "generated tokens/s", r["speedup_vs_1_actor"]))
    return out


if __name__ == "__main__":
    main()
