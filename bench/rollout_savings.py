"""Rollout savings: full vs binary vs adaptive on the same traces, against gold step labels.

Prints a table and writes ``bench/results/rollout_savings.json`` (``rollout_savings_no_check.json`` with
``--no-check-arithmetic``, or ``--out``) through ``bench/result_io.py``. Usage (from the repo root):

    python bench/rollout_savings.py --problems 300 --samples 4 --rollouts 8 --engine vllm

Goals: ``full``'s hard accuracy against gold at least 0.90; ``binary`` within 2 points of ``full``'s
accuracy with at most 0.40 of its rollouts. ``adaptive`` is reported beside it.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.result_io import figure, write_result  # noqa: E402

FULL_ACCURACY_GOAL = ">= 0.90"  # full's hard accuracy against gold step labels
ACCURACY_GAP_GOAL = ">= -0.02"  # binary's hard accuracy minus full's
ROLLOUT_RATIO_GOAL = "<= 0.40"  # binary's rollouts over full's
TITLE = "Label quality and rollout savings: full, binary and adaptive against gold step labels"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--problems", type=int, default=300)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--rollouts", type=int, default=8)
    parser.add_argument("--engine", choices=["vllm", "hf"], default="vllm")
    parser.add_argument("--strategies", default="full,binary,adaptive")
    parser.add_argument("--work", default=str(ROOT / "runs" / "bench_rollout_savings"))
    parser.add_argument("--shard-size", type=int, default=128)
    parser.add_argument("--no-check-arithmetic", dest="check_arithmetic", action="store_false",
                        help="plain Math-Shepherd: count lucky continuations through a false equation")
    parser.add_argument("--out", default=None,
                        help="result file (default: bench/results/rollout_savings[_no_check].json)")
    args = parser.parse_args(argv)

    from data.assets import default_policy_path
    from data.synthetic import SynthSplit
    from engines import make_engine
    from pipelines.generate import GenerateConfig, generate_traces
    from pipelines.label_run import LabelRunConfig, run_label
    from labelers.rounds import LabelConfig
    from engines.ray_pool import PoolConfig
    from engines.runtime import configure_runtime

    work = Path(args.work)
    configure_runtime()
    policy = str(default_policy_path())
    problems = SynthSplit().heldout(args.problems)
    traces_dir = work / "gen" / "traces"
    if not traces_dir.exists():
        engine = make_engine(args.engine, model=policy)
        generate_traces(engine, problems, work / "gen", "tiny_policy", GenerateConfig(samples=args.samples))
        del engine
    results = {}
    for strategy in args.strategies.split(","):
        start = time.time()
        stats = run_label(LabelRunConfig(
            traces=str(traces_dir), out=str(work / f"label_{strategy}"),
            label=LabelConfig(strategy=strategy, rollouts=args.rollouts, check_arithmetic=args.check_arithmetic),
            engine=args.engine,
            engine_kwargs={"model": policy}, shard_size=args.shard_size, pool=PoolConfig(actors=1)))
        results[strategy] = {k: stats.get(k) for k in (
            "traces", "steps", "rollouts", "generated_tokens", "rollouts_per_step", "hard_accuracy",
            "hard_balanced_accuracy", "soft_auc", "first_error_accuracy", "false_positives", "false_negatives",
            "gold_positive_steps", "lucky_rejected", "wall_s")}
        results[strategy]["tokens_per_step"] = round(stats["generated_tokens"] / max(1, stats["steps"]), 2)
        results[strategy]["bench_wall_s"] = round(time.time() - start, 1)
    if "full" in results:
        for name, r in results.items():
            r["rollout_ratio_vs_full"] = round(r["rollouts"] / max(1, results["full"]["rollouts"]), 4)
            r["token_ratio_vs_full"] = round(r["generated_tokens"] / max(1, results["full"]["generated_tokens"]), 4)
    report = {"config": vars(args), "results": results}
    print(f"{'strategy':10s} {'roll/step':>9s} {'tok/step':>9s} {'hard_acc':>8s} {'bal_acc':>8s} {'soft_auc':>8s} "
          f"{'tok_ratio':>9s}")
    for name, r in results.items():
        print(f"{name:10s} {r['rollouts_per_step']:9.2f} {r['tokens_per_step']:9.1f} {r['hard_accuracy']:8.4f} "
              f"{r['hard_balanced_accuracy'] or 0:8.4f} {r['soft_auc'] or 0:8.4f} {r.get('token_ratio_vs_full', 1):9.3f}")
    suffix = "" if args.check_arithmetic else "_no_check"
    out = args.out or ROOT / "bench" / "results" / f"rollout_savings{suffix}.json"
    write_result(out, "rollout_savings", TITLE, figures(report), report)
    return report


def figures(report: dict) -> list[dict]:
    """The envelope's figures: ``full``'s accuracy, then per cheaper strategy its accuracy, gap and ratios.

    Goals apply to ``full`` and ``binary``; ``adaptive`` (and any other strategy) is reported.

    >>> full = {"traces": 1200, "hard_accuracy": 0.9173}
    >>> binary = {"hard_accuracy": 0.9289, "rollout_ratio_vs_full": 0.3991, "token_ratio_vs_full": 0.433}
    >>> [f["met"] for f in figures({"results": {"full": full, "binary": binary}})]
    [True, None, True, True, None]
    """
    results = report["results"]
    if "full" not in results:
        raise ValueError("rollout_savings: field 'results.full' is missing; the goals are relative to full")
    full = results["full"]
    out = [figure("full_hard_accuracy", f"`full` hard accuracy against gold step labels ({full['traces']:,} traces)",
                  full["hard_accuracy"], FULL_ACCURACY_GOAL, headline=True)]
    for name, r in results.items():
        if name == "full":
            continue
        goal = name == "binary"
        out += [
            figure(f"{name}_hard_accuracy", f"`{name}` hard accuracy against gold step labels", r["hard_accuracy"]),
            figure(f"{name}_accuracy_minus_full", f"`{name}` hard accuracy minus `full`'s",
                   round(r["hard_accuracy"] - full["hard_accuracy"], 4), ACCURACY_GAP_GOAL if goal else None,
                   headline=goal),
            figure(f"{name}_rollout_ratio", f"`{name}` rollouts / `full`'s", r["rollout_ratio_vs_full"],
                   ROLLOUT_RATIO_GOAL if goal else None, headline=goal),
            figure(f"{name}_token_ratio", f"`{name}` generated tokens / `full`'s", r["token_ratio_vs_full"]),
        ]
    return out


if __name__ == "__main__":
    main()
