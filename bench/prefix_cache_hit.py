"""Prefix reuse: how much of the prompt work vLLM's prefix cache saves during ``label``, and why routing matters.

1. ``label`` (``full``, one vLLM engine actor) on the same traces with ``enable_prefix_caching``
   on and off; its ``stats.json`` reports, per engine:
   * ``hit_share``: vLLM's own ``prefix_cache_hits / prefix_cache_queries`` (prompt tokens of every
     sampled sequence; the ``n`` samples of one prefix share its prompt);
   * ``cross_prefix_share``: ``num_cached_tokens / prompt_tokens`` per distinct request, i.e. the
     part of a prefix's prompt found in the cache before it was scheduled (the question and the
     earlier steps that other prefixes of the same trace, or other traces of the same problem,
     already prefilled);
   * ``ceiling_share``: the largest share any prefix cache could serve for the same requests
     (``engines.prefix_cache``: whole blocks only, never a prompt's last token, each distinct block
     computed once), and ``hit_vs_ceiling``, the measured hits over that ceiling (goal: 0.95);
   * the speed ratio: generated tokens per engine-second and per end-to-end second, on over off.
2. Routing. The same round-0 label requests replayed prefill-only (``n=1``, ``max_tokens=1``)
   on one vLLM engine whose prefix cache is reset between "engines", so each emulated engine sees
   only its own requests, exactly as ``k`` separate engine actors would:
   * ``whole traces``: what the factory does, each engine gets whole shards (all prefixes of a trace);
   * ``scattered prefixes``: each prefix goes to a random engine (what a per-request load balancer does).

    python bench/prefix_cache_hit.py [--problems 50 --samples 2] [--replay-problems 100] [--repeats 1]

Prints tables and writes ``bench/results/prefix_cache_hit.json`` (or ``--out``) through ``bench/result_io.py``
(``prefix_cache_hit_vs_ceiling``: the on-run hits over the ceiling, goal 0.95; ``prefix_cache_hit``: the raw
share; ``prefix_cache_ceiling``: the ceiling).
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.engine_efficiency import RESULTS, ensure_traces, probed_label  # noqa: E402
from bench.result_io import figure, write_result  # noqa: E402

CEILING_GOAL = ">= 0.95"  # hit rate over the computable ceiling
TITLE = "Prefix-cache reuse during label, and how routing keeps it"


def label_on_off(traces: Path, work: Path, policy: str, rollouts: int, shard_size: int, repeats: int) -> dict:
    from pipelines.label_run import LabelRunConfig
    from labelers.rounds import LabelConfig
    from engines.ray_pool import PoolConfig

    runs: dict[str, list] = {"on": [], "off": []}
    for _ in range(repeats):
        for mode in ("on", "off"):
            load = os.getloadavg()[0]
            out = work / f"label_{mode}_{int(time.time() * 1000)}"
            stats = probed_label(LabelRunConfig(
                traces=str(traces), out=str(out), label=LabelConfig(strategy="full", rollouts=rollouts),
                engine="vllm", engine_kwargs={"model": policy, "enable_prefix_caching": mode == "on"},
                shard_size=shard_size, pool=PoolConfig(actors=1), progress=False))
            pc = stats["prefix_cache"]
            runs[mode].append({
                "traces": stats["traces"], "generated_tokens": stats["generated_tokens"],
                "generate_s": stats["generate_s"], "end_to_end_s": stats["probe"]["end_to_end_s"],
                "prompt_tokens_all_sequences": pc["queries"], "hit_tokens": pc["hits"], "hit_share": pc["hit_share"],
                "ceiling_hit_tokens": pc["ceiling_hit_tokens"], "ceiling_share": pc["ceiling_share"],
                "cross_prefix_share": pc["cross_prefix_share"],
                "hit_vs_ceiling": pc["hit_vs_ceiling"] if mode == "on" else None,
                "load_avg_1min": [round(load, 2), round(os.getloadavg()[0], 2)],
            })
    keys = ("hit_share", "ceiling_share", "cross_prefix_share", "generate_s", "end_to_end_s", "generated_tokens")
    med = {m: {k: statistics.median(r[k] for r in rs) for k in keys} for m, rs in runs.items()}
    med["on"]["hit_vs_ceiling"] = statistics.median(r["hit_vs_ceiling"] for r in runs["on"])
    speed_engine = (med["on"]["generated_tokens"] / med["on"]["generate_s"]) / (
        med["off"]["generated_tokens"] / med["off"]["generate_s"])
    speed_e2e = (med["on"]["generated_tokens"] / med["on"]["end_to_end_s"]) / (
        med["off"]["generated_tokens"] / med["off"]["end_to_end_s"])
    return {"runs": runs, "median": med, "speed_ratio_engine": round(speed_engine, 3),
            "speed_ratio_end_to_end": round(speed_e2e, 3)}


def assign_whole(n_traces: int, k: int) -> list[int]:
    """Engine of each trace when engines take whole contiguous shards (the factory's routing).

    >>> assign_whole(5, 2)
    [0, 0, 0, 1, 1]
    """
    size = -(-n_traces // k)
    return [i // size for i in range(n_traces)]


def routing_replay(traces: Path, policy: str, ks: list[int], seed: int = 0) -> dict:
    """Hit shares of the round-0 prefixes when routed to ``k`` engines whole-trace vs scattered (prefill-only)."""
    from data.trace_io import load_traces
    from labelers.strategies import new_state
    from engines import make_engine
    from pipelines.label_run import split_valid
    from labelers.rounds import LabelConfig, make_prompter, rollout_request

    cfg = LabelConfig(strategy="full", rollouts=1, max_tokens=1)
    valid, _ = split_valid(load_traces(traces), 2000)
    strategy = cfg.make_strategy()
    engine = make_engine("vllm", model=policy)
    prompter = make_prompter(cfg, engine.tokenizer)  # the prompts label renders
    per_trace = []
    for trace in valid:
        state = new_state(len(trace.steps), bool(trace.outcome_correct), trace.final_answer is not None)
        per_trace.append([rollout_request(trace, a.step_index, 1, 0, cfg, prompter) for a in strategy.plan(state)])
    rng = random.Random(seed)
    results = {}
    for k in ks:
        whole = assign_whole(len(per_trace), k)
        scattered_rows = [[rng.randrange(k) for _ in reqs] for reqs in per_trace]
        for name, engine_of in (("whole_traces", lambda t, i: whole[t]),
                                ("scattered_prefixes", lambda t, i: scattered_rows[t][i])):
            hits = queries = 0
            for e in range(k):
                requests = [r for t, reqs in enumerate(per_trace) for i, r in enumerate(reqs) if engine_of(t, i) == e]
                engine.llm.reset_prefix_cache()
                before = engine.prefix_cache_counters()
                engine.generate(requests)
                after = engine.prefix_cache_counters()
                hits += after["hits"] - before["hits"]
                queries += after["queries"] - before["queries"]
            results[f"{name}_k{k}"] = {"engines": k, "routing": name, "prompt_tokens": queries, "hit_tokens": hits,
                                       "hit_share": round(hits / queries, 4) if queries else 0.0}
    return {"traces": len(per_trace), "requests": sum(len(r) for r in per_trace), "results": results}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problems", type=int, default=50, help="label on/off: held-out problems x --samples")
    parser.add_argument("--samples", type=int, default=2)
    parser.add_argument("--replay-problems", type=int, default=100, help="routing replay: problems x --samples")
    parser.add_argument("--engines", default="1,2,4", help="emulated engine counts for the routing replay")
    parser.add_argument("--rollouts", type=int, default=8)
    parser.add_argument("--shard-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--work", default=str(ROOT / "runs" / "bench_prefix_cache"))
    parser.add_argument("--out", default=str(RESULTS / "prefix_cache_hit.json"))
    args = parser.parse_args(argv)

    from data.assets import default_policy_path
    from data.synthetic import SynthSplit
    from engines.runtime import configure_runtime

    work = Path(args.work)
    configure_runtime()
    policy = str(default_policy_path())
    n = max(args.problems, args.replay_problems)
    gen = ensure_traces(work / f"gen_{n}x{args.samples}", SynthSplit().heldout(n), args.samples)
    label_traces = gen
    if args.problems < n:
        from data.parquet_io import write_records
        from data.trace_io import load_traces

        label_traces = work / f"label_traces_{args.problems * args.samples}.parquet"
        if not label_traces.exists():
            write_records(label_traces, load_traces(gen)[: args.problems * args.samples])
    onoff = label_on_off(label_traces, work, policy, args.rollouts, args.shard_size, args.repeats)
    replay_traces = gen
    routing = routing_replay(replay_traces, policy, [int(k) for k in args.engines.split(",")])

    report = {"config": vars(args), "label": onoff, "routing": routing,
              "prefix_cache_hit": onoff["median"]["on"]["hit_share"],
              "prefix_cache_ceiling": onoff["median"]["on"]["ceiling_share"],
              "prefix_cache_cross_prefix_share": onoff["median"]["on"]["cross_prefix_share"],
              "prefix_cache_hit_vs_ceiling": onoff["median"]["on"]["hit_vs_ceiling"],
              "prefix_cache_speed_ratio": onoff["speed_ratio_engine"]}
    med = onoff["median"]
    print(f"label (full, N={args.rollouts}), {onoff['runs']['on'][0]['traces']} traces")
    print(f"{'caching':8s} {'hit_share':>9s} {'ceiling':>8s} {'generate_s':>10s} {'end_to_end_s':>12s}")
    for mode in ("on", "off"):
        m = med[mode]
        print(f"{mode:8s} {m['hit_share']:9.3f} {m['ceiling_share']:8.3f} {m['generate_s']:10.2f} "
              f"{m['end_to_end_s']:12.2f}")
    print(f"hits over the ceiling (caching on): {med['on']['hit_vs_ceiling']}")
    print(f"speed ratio on/off: engine {onoff['speed_ratio_engine']}x, end to end {onoff['speed_ratio_end_to_end']}x")
    print(f"routing replay (prefill only, n=1), {routing['traces']} traces, {routing['requests']} prefixes")
    print(f"{'engines':>7s} {'whole traces':>12s} {'scattered':>10s}")
    for k in args.engines.split(","):
        r = routing["results"]
        whole, scattered = r[f"whole_traces_k{k}"]["hit_share"], r[f"scattered_prefixes_k{k}"]["hit_share"]
        print(f"{k:>7s} {whole:12.3f} {scattered:10.3f}")
    write_result(args.out, "prefix_cache_hit", TITLE, figures(report), report)
    return report


def figures(report: dict) -> list[dict]:
    """The envelope's figures: the hit rate (against the ceiling when the body has it), reuse, speed, routing.

    >>> routing = {"results": {"whole_traces_k2": {"engines": 2, "hit_share": 0.42},
    ...                        "scattered_prefixes_k2": {"engines": 2, "hit_share": 0.21}}}
    >>> body = {"prefix_cache_hit": 0.55, "prefix_cache_cross_prefix_share": 0.56, "prefix_cache_speed_ratio": 1.5,
    ...         "routing": routing}
    >>> [(f["key"], f["goal"]) for f in figures(body)][:2]
    [('prefix_cache_hit', None), ('prefix_cache_cross_prefix_share', None)]
    >>> figures(body | {"prefix_cache_hit_vs_ceiling": 0.97})[0]["met"]
    True
    """
    if report.get("prefix_cache_hit_vs_ceiling") is not None:
        hit = figure("prefix_cache_hit_vs_ceiling", "prefix-cache hit rate during label / computable ceiling",
                     report["prefix_cache_hit_vs_ceiling"], CEILING_GOAL, headline=True)
    else:  # runs made before the ceiling was computed lack it
        hit = figure("prefix_cache_hit", "prefix-cache hit share during label (vLLM's hits / queries)",
                     report["prefix_cache_hit"], None, f"raw share: the computable ceiling was not computed, so "
                     f"the goal ({CEILING_GOAL} of the ceiling) cannot be checked", headline=True)
    out = [hit]
    if "prefix_cache_cross_prefix_share" in report:
        out.append(figure("prefix_cache_cross_prefix_share",
                          "share of a prefix's prompt already cached when it is scheduled",
                          report["prefix_cache_cross_prefix_share"]))
    out.append(figure("prefix_cache_speed_ratio", "engine generated tokens/s, prefix cache on / off",
                      report["prefix_cache_speed_ratio"]))
    results = report["routing"]["results"]
    k = max(r["engines"] for r in results.values())
    for routing, label in (("whole_traces", "whole traces per engine"), ("scattered_prefixes", "scattered prefixes")):
        out.append(figure(f"routing_hit_share_{routing}_k{k}", f"hit share over {k} engines, {label} (replay)",
                          results[f"{routing}_k{k}"]["hit_share"]))
    return out


if __name__ == "__main__":
    main()
