"""Speed-up of the factory over the naive loop many public scripts use, on the same traces.

The naive loop: for each trace, for each step prefix, one ``generate`` call asking N samples,
then grade each sample inline, one ``grade`` call at a time. The factory: ``run_label`` with
``full`` (same prefixes, same N, same max tokens), one engine actor on a local Ray, whole
shards per engine call. Both use the vLLM engine on the embedded policy; the factory's time
includes Ray start-up and the actor's engine start, the naive loop's includes its engine start.

    python bench/naive_baseline.py --problems 100 --samples 2 --rollouts 8    # 200 traces, the goal's size

Prints a table and writes ``bench/results/naive_baseline.json`` (or ``--out``) through
``bench/result_io.py``, with ``speedup_vs_naive`` against the goal of 5x (set at 200 traces).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.result_io import figure, write_result  # noqa: E402

GOAL = 5.0  # factory over naive wall time, at GOAL_TRACES traces
GOAL_TRACES = 200
TITLE = "Speed-up over the naive per-prefix loop"


def naive_label(traces, policy: str, rollouts: int, max_tokens: int) -> dict:
    from engines import make_engine

    start = time.time()
    engine = make_engine("vllm", model=policy)
    tokens, samples = _naive_loop(engine, traces, rollouts, max_tokens)
    return {"wall_s": round(time.time() - start, 2), "generated_tokens": tokens, "rollouts": samples}


def _naive_loop(engine, traces, rollouts: int, max_tokens: int) -> tuple[int, int]:
    """One ``generate`` call per prefix, in the policy's own prompt format (as the traces recorded it)."""
    from engines import GenRequest
    from labelers.prompter import prompter_from_provenance
    from verifiers import grade

    tokens = samples = 0
    for trace in traces:
        prompter = prompter_from_provenance(trace.prompt_format, engine.tokenizer, empty="plain")
        last = len(trace.steps) - 1 if trace.final_answer is not None else len(trace.steps)
        for i in range(last):
            prefix = trace.steps[: i + 1]
            request = GenRequest(prompter.prefix_prompt(trace.question, prefix, trace.step_delimiters), n=rollouts,
                                 max_tokens=max_tokens, stop=prompter.stops,
                                 add_special_tokens=prompter.add_special_tokens)
            for completion in engine.generate([request])[0]:
                grade(prompter.prefix_text(prefix, trace.step_delimiters) + completion.text, trace.gold_answer)
                tokens += completion.n_tokens
                samples += 1
    return tokens, samples


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--problems", type=int, default=100)
    parser.add_argument("--samples", type=int, default=2)
    parser.add_argument("--rollouts", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=200)
    parser.add_argument("--work", default=str(ROOT / "runs" / "bench_naive_baseline"))
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "naive_baseline.json"))
    args = parser.parse_args(argv)

    from bench.engine_efficiency import ensure_traces
    from data.assets import default_policy_path
    from data.parquet_io import read_records
    from data.records import Trace
    from data.synthetic import SynthSplit
    from pipelines.label_run import LabelRunConfig, run_label
    from labelers.rounds import LabelConfig
    from engines.ray_pool import PoolConfig
    from engines.runtime import configure_runtime

    work = Path(args.work)
    configure_runtime()
    policy = str(default_policy_path())
    gen = ensure_traces(work / f"gen_{args.problems}x{args.samples}", SynthSplit().heldout(args.problems),
                        args.samples)  # the same traces as bench/engine_efficiency.py's at the same size
    traces = read_records(gen, Trace)

    naive = naive_label(traces, policy, args.rollouts, args.max_tokens)
    out = work / f"factory_{int(time.time())}"
    start = time.time()
    stats = run_label(LabelRunConfig(traces=str(gen), out=str(out),
                                     label=LabelConfig(strategy="full", rollouts=args.rollouts, max_tokens=args.max_tokens),
                                     engine="vllm", engine_kwargs={"model": policy}, shard_size=64,
                                     pool=PoolConfig(actors=1), progress=False))
    factory = {"wall_s": round(time.time() - start, 2), "generated_tokens": stats["generated_tokens"],
               "rollouts": stats["rollouts"], "generate_s": stats["generate_s"], "verify_s": stats["verify_s"],
               "startup": stats.get("startup", {}), "engine_wait_grading_s": stats.get("engine_wait_grading_s")}
    result = {
        "config": vars(args), "traces": len(traces), "naive": naive, "factory": factory,
        "speedup_vs_naive": round(naive["wall_s"] / factory["wall_s"], 2),
        "tokens_per_s": {"naive": round(naive["generated_tokens"] / naive["wall_s"], 1),
                         "factory": round(factory["generated_tokens"] / factory["wall_s"], 1)},
    }
    print(f"{'':8s} {'rollouts':>9s} {'tokens':>9s} {'wall_s':>8s} {'tok/s':>8s}")
    for name in ("naive", "factory"):
        r = result[name]
        print(f"{name:8s} {r['rollouts']:9d} {r['generated_tokens']:9d} {r['wall_s']:8.1f} "
              f"{result['tokens_per_s'][name]:8.1f}")
    print(f"speed-up of the factory over the naive loop: {result['speedup_vs_naive']}x")
    write_result(args.out, "naive_baseline", TITLE, figures(result), result)
    return result


def figures(result: dict) -> list[dict]:
    """The envelope's figures from a result body: the speed-up (goal) and both loops' tokens/s.

    >>> body = {"traces": 50, "speedup_vs_naive": 1.24, "tokens_per_s": {"naive": 597.7, "factory": 743.7},
    ...         "naive": {"wall_s": 40.0}, "factory": {"wall_s": 32.3, "generate_s": 14.0,
    ...                                                "startup": {"first_rollout_s": 15.7}}}
    >>> [(f["key"], f["met"]) for f in figures(body)]
    [('speedup_vs_naive', False), ('factory_tokens_per_s', None), ('naive_tokens_per_s', None)]
    """
    traces = result["traces"]
    size = "" if traces == GOAL_TRACES else f"goal set at {GOAL_TRACES:,} traces; this run labeled {traces:,}"
    return [
        figure("speedup_vs_naive", f"speed-up of the factory over the naive per-prefix loop, wall time "
               f"({traces:,} traces)", result["speedup_vs_naive"], f">= {GOAL:g}",
               "; ".join(filter(None, [size, where_time_went(result)])), headline=True),
        figure("factory_tokens_per_s", "factory: generated tokens/s, end to end", result["tokens_per_s"]["factory"]),
        figure("naive_tokens_per_s", "naive loop: generated tokens/s, end to end", result["tokens_per_s"]["naive"]),
    ]


def where_time_went(result: dict) -> str:
    """Both loops' wall time, the factory's split into its start and its engine steps.

    >>> where_time_went({"naive": {"wall_s": 60.0}, "factory": {"wall_s": 25.8, "generate_s": 14.1,
    ...                                                         "startup": {"first_rollout_s": 13.8}}})
    'naive loop 60.0 s; factory 25.8 s, of which 13.8 s until its first rollout and 14.1 s engine steps'
    """
    factory = result["factory"]
    first = factory.get("startup", {}).get("first_rollout_s")
    start = f"{first:.1f} s until its first rollout and " if first is not None else ""
    return (f"naive loop {result['naive']['wall_s']:.1f} s; factory {factory['wall_s']:.1f} s, of which {start}"
            f"{factory['generate_s']:.1f} s engine steps")


if __name__ == "__main__":
    main()
