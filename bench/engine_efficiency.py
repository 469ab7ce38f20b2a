"""Engine efficiency: the factory's generated tokens/s end to end, over a bare engine's on the same requests.

The factory: ``run_label`` (``full``, one engine actor on a local Ray), timed from the call (which
starts Ray itself, overlapped with reading the inputs) to ``stats.json``, so it includes Ray
start-up, the actor's engine start, verification, Parquet IO and scheduling. The bare engine: the
same engine class built in this process, then one ``engine.generate`` call per shard with exactly
the requests ``label_shard`` sends in its one ``full`` round (``rollout_request``: same prompts, rendered
in the same prompt format with the engine's tokenizer, same ``n``, max tokens, per-request seeds); only
the ``generate`` calls are timed. As in the factory's engine loop, the engine runs in the thread that
built it (vLLM on CPU binds that thread's OpenMP threads). Per-request seeds make both produce the
same samples (vLLM), so the token counts match.

    python bench/engine_efficiency.py [--problems 100 --samples 2] [--hf-problems 20] [--repeats 1]

200 traces by default; ``--problems 500`` gives the 1,000 traces at which the goal (0.95) is set.
Prints a table and writes ``bench/results/engine_efficiency.json`` through ``bench/result_io.py``.
Where the factory's time went comes from the run's ``stats.json`` (start-up parts, engine stepping,
engine idle on grading or on input) plus a probe: the per-shard work function is wrapped to time the
whole shard inside the actor, and the driver's Parquet/JSON writes are timed.
The benchmark stops with an error if the two generated different token counts: they would not have done
the same work. ``ensure_traces`` and ``probed_label`` are reused by the other benchmarks.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.result_io import figure, write_result  # noqa: E402

RESULTS = ROOT / "bench" / "results"
GOAL = 0.95  # factory / bare engine tokens/s, end to end, at GOAL_TRACES traces
GOAL_TRACES = 1000
TITLE = "Engine efficiency: the factory against a bare engine on the same requests"


def ensure_traces(out_dir: Path, problems, samples: int) -> Path:
    """Traces of ``problems`` (``samples`` each) from the embedded policy via the hf engine; reused if present.

    They are generated in a child process: the hf engine pins torch to one thread, and a vLLM engine built
    later in this process would inherit that (a bare engine measured at 0.7x its speed).
    """
    import multiprocessing

    traces = out_dir / "traces"
    if not (out_dir / "summary.json").exists() and not traces.exists():
        child = multiprocessing.get_context("spawn").Process(target=_generate, args=(out_dir, list(problems), samples))
        child.start()
        child.join()
        if child.exitcode != 0:
            raise RuntimeError(f"generating the benchmark traces into {out_dir} failed (exit code {child.exitcode})")
    return traces


def _generate(out_dir: Path, problems: list, samples: int) -> None:
    from data.assets import default_policy_path
    from engines import make_engine
    from engines.runtime import configure_runtime
    from pipelines.generate import GenerateConfig, generate_traces

    configure_runtime()
    engine = make_engine("hf", model=str(default_policy_path()), num_threads=1)
    generate_traces(engine, problems, out_dir, "tiny_policy", GenerateConfig(samples=samples), progress=False)


def _probe_factory(original):
    """Wrap ``label_run._label_work``: time each shard inside the actor."""

    def factory(cfg_dict, *args):
        inner = original(cfg_dict, *args)

        def work(worker, rows):
            import time as _time

            t_start = _time.time()
            start = _time.perf_counter()
            result = inner(worker, rows)
            result["stats"]["probe_work_s"] = round(_time.perf_counter() - start, 4)
            result["stats"]["probe_t_start"] = t_start
            return result

        return work

    return factory


@contextmanager
def _patched_label_run():
    """Install the probe and time the driver's writes; restore everything afterwards."""
    import pipelines.label_run as label_run

    saved = {k: getattr(label_run, k) for k in ("_label_work", "write_rows_atomic", "write_json_atomic")}
    io = {"s": 0.0}

    def timed(fn):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                io["s"] += time.perf_counter() - start
        return wrapper

    label_run._label_work = _probe_factory(saved["_label_work"])
    label_run.write_rows_atomic = timed(saved["write_rows_atomic"])
    label_run.write_json_atomic = timed(saved["write_json_atomic"])
    try:
        yield io
    finally:
        for key, value in saved.items():
            setattr(label_run, key, value)


def probed_label(cfg, cluster=None) -> dict:
    """Run the factory's ``run_label(cfg)`` with the probe, on a Ray it starts itself; Ray is shut down after.

    Returns stats.json plus ``probe``: end_to_end_s, shards, actor work seconds summed over shards,
    driver IO seconds.
    """
    import ray

    from pipelines.label_run import run_label

    ray.shutdown()
    start = time.time()
    try:
        with _patched_label_run() as io:
            stats = run_label(cfg)
        end_to_end_s = time.time() - start  # to stats.json; Ray's shutdown after it is not the run's
    finally:
        ray.shutdown()
    markers = [json.loads(p.read_text()) for p in sorted((Path(cfg.out) / "done").glob("shard-*.json"))]
    probe = {"end_to_end_s": round(end_to_end_s, 3), "driver_io_s": round(io["s"], 3), "shards": len(markers),
             "work_s": round(sum(m.get("probe_work_s", 0) for m in markers), 3)}
    return {**stats, "probe": probe}


def shard_requests(traces_path, label_cfg, shard_size: int, tokenizer) -> list[list]:
    """The requests ``label_shard`` sends in round 0, shard by shard, as the factory shards the valid traces,
    rendered as it renders them: ``label_cfg``'s prompt format against the engine's ``tokenizer``.

    For ``full`` that is all of its requests (one round); for other strategies only their first round.
    """
    from data.trace_io import load_traces
    from labelers.strategies import new_state
    from pipelines.label_run import split_valid
    from labelers.rounds import make_prompter, rollout_request

    valid, _ = split_valid(load_traces(traces_path), 2000)
    strategy = label_cfg.make_strategy()
    prompter = make_prompter(label_cfg, tokenizer)
    shards = []
    for i in range(0, len(valid), shard_size):
        requests = []
        for trace in valid[i:i + shard_size]:
            state = new_state(len(trace.steps), bool(trace.outcome_correct), trace.final_answer is not None)
            requests.extend(rollout_request(trace, ask.step_index, ask.n, 0, label_cfg, prompter)
                            for ask in strategy.plan(state))
        shards.append(requests)
    return shards


def bare_run(engine_name: str, engine_kwargs: dict, shards: list[list], engine=None) -> dict:
    """Build the engine (timed) unless given, then one timed ``generate`` call per shard."""
    from engines import make_engine

    start = time.perf_counter()
    engine = engine or make_engine(engine_name, **engine_kwargs)
    build_s = time.perf_counter() - start
    tokens = rollouts = 0
    generate_s = 0.0
    for requests in shards:
        start = time.perf_counter()
        out = engine.generate(requests)
        generate_s += time.perf_counter() - start
        tokens += sum(c.n_tokens for cs in out for c in cs)
        rollouts += sum(len(cs) for cs in out)
    return {"build_s": round(build_s, 3), "generate_s": round(generate_s, 3), "generated_tokens": tokens,
            "rollouts": rollouts, "tokens_per_s": round(tokens / generate_s, 1) if generate_s else 0.0,
            "engine": engine}


def breakdown(stats: dict) -> dict:
    """Where the factory's end-to-end seconds went: until the first engine was ready (Ray, actor, engine
    import and build; the inputs load meanwhile), engine stepping, engine idle (on grading, on the next
    shard), the driver's Parquet writes and the rest (after the last shard: summary, shutdown)."""
    p, up = stats["probe"], stats.get("startup", {})
    parts = {
        "until_engine_ready_s": up.get("engine_ready_s", 0.0),
        "engine_step_s": stats.get("engine_step_s", stats["generate_s"]),
        "engine_wait_grading_s": stats.get("engine_wait_grading_s", 0.0),
        "engine_wait_input_s": stats.get("engine_wait_input_s", 0.0),
        "driver_parquet_io_s": p["driver_io_s"],
    }
    parts["rest_s"] = max(0.0, p["end_to_end_s"] - sum(parts.values()))
    parts["grading_tasks_s_concurrent"] = stats["verify_s"]  # on other CPUs, not on the engine's path
    return {k: round(v, 3) for k, v in parts.items()}


def measure(engine_name: str, traces: Path, work: Path, label_cfg, shard_size: int, repeats: int,
            engine_kwargs: dict) -> dict:
    from engines import make_engine
    from engines.ray_pool import PoolConfig
    from pipelines.label_run import LabelRunConfig

    runs = []
    for r in range(repeats):
        load_before = os.getloadavg()[0]
        start = time.perf_counter()
        engine = make_engine(engine_name, **engine_kwargs)
        build_s = time.perf_counter() - start
        shards = shard_requests(traces, label_cfg, shard_size, engine.tokenizer)
        bare = bare_run(engine_name, engine_kwargs, shards, engine) | {"build_s": round(build_s, 3)}
        del engine
        bare.pop("engine")
        out = work / f"factory_{engine_name}_{int(time.time() * 1000)}"
        stats = probed_label(LabelRunConfig(traces=str(traces), out=str(out), label=label_cfg, engine=engine_name,
                                            engine_kwargs=engine_kwargs, shard_size=shard_size,
                                            pool=PoolConfig(actors=1), progress=False))
        e2e = stats["probe"]["end_to_end_s"]
        factory_tps = stats["generated_tokens"] / e2e
        fixed = stats["startup"].get("engine_ready_s", 0.0)
        runs.append({
            "bare": bare,
            "factory": {k: stats[k] for k in ("traces", "steps", "rollouts", "generated_tokens", "generate_s",
                                              "verify_s", "wall_s")} | {"end_to_end_s": e2e,
                                                                       "tokens_per_s": round(factory_tps, 1)},
            "probe": stats["probe"],
            "breakdown": breakdown(stats),
            "ratio": round(factory_tps / bare["tokens_per_s"], 4),
            # the same, with start-up (until the engine was ready) taken out of the factory's time
            "ratio_steady_state": round(stats["generated_tokens"] / max(1e-9, e2e - fixed) / bare["tokens_per_s"], 4),
            # the engine inside the actor against the bare engine: generate time only
            "ratio_engine_in_actor": round(stats["generated_tokens"] / stats["generate_s"] / bare["tokens_per_s"], 4),
            "startup": stats["startup"],
            "same_tokens": stats["generated_tokens"] == bare["generated_tokens"],
            "load_avg_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        })
        if not runs[-1]["same_tokens"]:
            raise RuntimeError(f"{engine_name}: the factory generated {stats['generated_tokens']} tokens and the bare "
                               f"engine {bare['generated_tokens']} on the same requests; a ratio would compare "
                               "different work")
    pick = sorted(runs, key=lambda x: x["ratio"])[len(runs) // 2]
    return {"runs": runs, "ratio": statistics.median(x["ratio"] for x in runs),
            "ratio_steady_state": statistics.median(x["ratio_steady_state"] for x in runs),
            "ratio_engine_in_actor": statistics.median(x["ratio_engine_in_actor"] for x in runs),
            "median_run": pick}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problems", type=int, default=100, help="vllm: held-out problems (x --samples traces; "
                        "500 x 2 = the 1,000 traces of the goal)")
    parser.add_argument("--hf-problems", type=int, default=20, help="hf: the first traces of this many problems")
    parser.add_argument("--samples", type=int, default=2)
    parser.add_argument("--rollouts", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=200)
    parser.add_argument("--shard-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--engines", default="vllm,hf")
    parser.add_argument("--work", default=str(ROOT / "runs" / "bench_engine_efficiency"))
    parser.add_argument("--out", default=str(RESULTS / "engine_efficiency.json"))
    args = parser.parse_args(argv)

    from data.assets import default_policy_path
    from data.parquet_io import write_records
    from data.synthetic import SynthSplit
    from data.trace_io import load_traces
    from labelers.rounds import LabelConfig
    from engines.runtime import configure_runtime

    work = Path(args.work)
    configure_runtime()
    policy = str(default_policy_path())
    traces = ensure_traces(work / f"gen_{args.problems}x{args.samples}", SynthSplit().heldout(args.problems),
                           args.samples)
    label_cfg = LabelConfig(strategy="full", rollouts=args.rollouts, max_tokens=args.max_tokens)
    results = {}
    for engine_name in args.engines.split(","):
        path = traces
        if engine_name == "hf":
            path = work / f"hf_traces_{args.hf_problems * args.samples}.parquet"
            if not path.exists():
                write_records(path, load_traces(traces)[: args.hf_problems * args.samples])
        kwargs = {"model": policy} | ({"num_threads": 1} if engine_name == "hf" else {})
        results[engine_name] = measure(engine_name, path, work, label_cfg, args.shard_size, args.repeats, kwargs)

    report = {"config": vars(args), "results": results, "engine_efficiency": results.get("vllm", {}).get("ratio")}
    if "hf" in results:
        report["engine_efficiency_hf"] = results["hf"]["ratio"]
    report["notes"] = notes(results)
    print_table(results)
    write_result(args.out, "engine_efficiency", TITLE, figures(report), report)
    return report


def figures(report: dict) -> list[dict]:
    """The envelope's figures from a report body: per engine, the end-to-end ratio (goal for vllm) and the others.

    >>> run = {"factory": {"traces": 60, "end_to_end_s": 30.0}, "bare": {"generate_s": 9.0},
    ...        "breakdown": {"until_engine_ready_s": 12.0, "engine_step_s": 16.0}}
    >>> body = {"results": {"vllm": {"ratio": 0.22, "ratio_steady_state": 0.87, "ratio_engine_in_actor": 1.1,
    ...                              "median_run": run}}}
    >>> [(f["key"], f["met"]) for f in figures(body)]
    [('engine_efficiency', False), ('engine_efficiency_steady_state', None), ('engine_efficiency_in_actor', None)]
    """
    out = []
    for name, r in sorted(report["results"].items(), key=lambda kv: kv[0] != "vllm"):
        traces = r["median_run"]["factory"]["traces"]
        suffix = "" if name == "vllm" else f"_{name}"
        size = "" if traces == GOAL_TRACES else f"goal set at {GOAL_TRACES:,} traces; this run labeled {traces:,}"
        note = size if name == "vllm" else "the goal applies to the vllm engine"
        out += [
            figure(f"engine_efficiency{suffix}", f"factory / bare {name} engine generated tokens/s, end to end "
                   f"({traces:,} traces)", r["ratio"], f">= {GOAL}" if name == "vllm" else None,
                   "; ".join(filter(None, [note, where_time_went(r["median_run"])])), headline=name == "vllm"),
            figure(f"engine_efficiency_steady_state{suffix}", f"the same ratio with Ray, actor and engine start-up "
                   f"taken out ({name})", r["ratio_steady_state"]),
            figure(f"engine_efficiency_in_actor{suffix}", f"{name} engine inside the actor / bare engine, "
                   f"generate time only", r["ratio_engine_in_actor"]),
        ]
    return out


def where_time_went(run: dict) -> str:
    """The factory's end-to-end seconds split into its start and its engine steps, and the bare engine's.

    >>> where_time_went({"factory": {"end_to_end_s": 100.8}, "bare": {"generate_s": 73.2},
    ...                  "breakdown": {"until_engine_ready_s": 15.8, "engine_step_s": 82.3}})
    'factory 100.8 s: 15.8 s until the engine was ready, 82.3 s engine steps, 2.7 s other; bare engine 73.2 s'
    """
    b, e2e, bare_s = run["breakdown"], run["factory"]["end_to_end_s"], run["bare"]["generate_s"]
    other = e2e - b["until_engine_ready_s"] - b["engine_step_s"]
    return (f"factory {e2e:.1f} s: {b['until_engine_ready_s']:.1f} s until the engine was ready, "
            f"{b['engine_step_s']:.1f} s engine steps, {other:.1f} s other; bare engine {bare_s:.1f} s")


def notes(results: dict) -> list[str]:
    """Plain statements derived from the figures (no fixed text about outcomes)."""
    out = []
    for name, r in results.items():
        run = r["median_run"]
        b = run["breakdown"]
        e2e = run["factory"]["end_to_end_s"]
        worst = max((k for k in b if k not in ("engine_step_s", "grading_tasks_s_concurrent")), key=lambda k: b[k])
        verdict = "meets" if r["ratio"] >= GOAL else "misses"
        out.append(f"{name}: end-to-end ratio {r['ratio']:.3f} {verdict} {GOAL}; the largest share besides engine "
                   f"stepping is {worst} = {b[worst]:.1f} s of {e2e:.1f} s; with start-up taken out the ratio is "
                   f"{r['ratio_steady_state']:.3f}; the engine inside the actor steps at "
                   f"{r['ratio_engine_in_actor']:.3f} of the bare engine's tokens/s.")
    return out


def print_table(results: dict) -> None:
    print(f"{'engine':6s} {'traces':>6s} {'tokens':>8s} {'bare tok/s':>10s} {'factory tok/s':>13s} {'ratio':>6s} "
          f"{'steady':>6s} {'in-actor':>8s}")
    for name, r in results.items():
        run = r["median_run"]
        print(f"{name:6s} {run['factory']['traces']:6d} {run['factory']['generated_tokens']:8d} "
              f"{run['bare']['tokens_per_s']:10.1f} {run['factory']['tokens_per_s']:13.1f} {r['ratio']:6.3f} "
              f"{r['ratio_steady_state']:6.3f} {r['ratio_engine_in_actor']:8.3f}")
    for name, r in results.items():
        print(f"{name}: where the factory's {r['median_run']['factory']['end_to_end_s']:.1f} s went")
        for key, value in r["median_run"]["breakdown"].items():
            print(f"    {key:48s} {value:8.2f}")


if __name__ == "__main__":
    main()
