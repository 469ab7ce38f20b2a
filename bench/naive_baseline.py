"""Speed-up of the factory over the naive loop many public scripts use, on the same traces.

The naive loop: for each trace, for each step prefix, one ``generate`` call asking N samples,
then grade each sample inline, one ``grade`` call at a time. The factory: ``run_label`` with
``full`` (same prefixes, same N, same max tokens), one engine actor on a local Ray, whole
shards per engine call. Both use the vLLM engine on the embedded policy; the factory's time
includes Ray start-up and the actor's engine start, the naive loop's includes its engine start.

    python bench/naive_baseline.py --problems 30 --samples 2 --rollouts 8

Prints a table and writes ``bench/results/naive_baseline.json`` with ``speedup_vs_naive``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def naive_label(traces, policy: str, rollouts: int, max_tokens: int) -> dict:
    from data.prompt_format import build_prompt, solution_text
    from engines import GenRequest, make_engine
    from verifiers import grade

    start = time.time()
    engine = make_engine("vllm", model=policy)
    tokens = samples = 0
    for trace in traces:
        last = len(trace.steps) - 1 if trace.final_answer is not None else len(trace.steps)
        for i in range(last):
            request = GenRequest(build_prompt(trace.question, trace.steps[: i + 1]), n=rollouts, max_tokens=max_tokens)
            for completion in engine.generate([request])[0]:
                grade(solution_text(trace.steps[: i + 1]) + "\n" + completion.text, trace.gold_answer)
                tokens += completion.n_tokens
                samples += 1
    return {"wall_s": round(time.time() - start, 2), "generated_tokens": tokens, "rollouts": samples}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--problems", type=int, default=30)
    parser.add_argument("--samples", type=int, default=2)
    parser.add_argument("--rollouts", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=200)
    parser.add_argument("--work", default=str(ROOT / "runs" / "bench_naive_baseline"))
    args = parser.parse_args(argv)

    from data.assets import default_policy_path
    from data.parquet_io import read_records
    from data.records import Trace
    from data.synthetic import SynthSplit
    from engines import make_engine
    from pipelines.generate import GenerateConfig, generate_traces
    from pipelines.label_run import LabelRunConfig, run_label
    from labelers.rounds import LabelConfig
    from engines.ray_pool import PoolConfig
    from engines.runtime import configure_runtime

    work = Path(args.work)
    configure_runtime(work)
    policy = str(default_policy_path())
    if not (work / "gen" / "traces").exists():
        generate_traces(make_engine("hf", model=policy), SynthSplit().heldout(args.problems), work / "gen",
                        "tiny_policy", GenerateConfig(samples=args.samples), progress=False)
    traces = read_records(work / "gen" / "traces", Trace)

    naive = naive_label(traces, policy, args.rollouts, args.max_tokens)
    out = work / f"factory_{int(time.time())}"
    start = time.time()
    stats = run_label(LabelRunConfig(traces=str(work / "gen" / "traces"), out=str(out),
                                     label=LabelConfig(strategy="full", rollouts=args.rollouts, max_tokens=args.max_tokens),
                                     engine="vllm", engine_kwargs={"model": policy}, shard_size=256,
                                     pool=PoolConfig(actors=1), progress=False))
    factory = {"wall_s": round(time.time() - start, 2), "generated_tokens": stats["generated_tokens"],
               "rollouts": stats["rollouts"], "generate_s": stats["generate_s"], "verify_s": stats["verify_s"]}
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
    path = ROOT / "bench" / "results" / "naive_baseline.json"
    path.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
