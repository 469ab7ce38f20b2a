"""``prm-factory estimate``: pilot ``label`` on a sample of your traces, then project the whole dataset's cost.

"""
from __future__ import annotations

import json

from pipelines.cli.common import add_engine_args, engine_kwargs, policy_tokenizer, prompter_from_args


def cmd_estimate(args) -> None:
    from pipelines.estimate import PilotConfig, estimate_report, run_pilot, write_report
    from engines.runtime import configure_runtime

    configure_runtime()
    strategies = tuple(s.strip() for s in args.strategies.split(",") if s.strip())
    kwargs = engine_kwargs(args)
    prompter = prompter_from_args(args, policy_tokenizer(args))
    cfg = PilotConfig(traces=args.traces, out=args.out, pilot=args.pilot, strategies=strategies,
                      rollouts=args.rollouts, max_tokens=args.max_tokens, step_style=prompter.step_style.value,
                      prompt_format=prompter.describe(),
                      engine=args.engine, engine_kwargs=kwargs, progress=not args.no_progress)
    n_valid, measures = run_pilot(cfg)
    dataset = args.dataset_traces or n_valid
    report = estimate_report(measures, dataset, args.tokens_per_s_per_gpu, args.gpus, args.efficiency)
    report["pilot_traces"] = min(args.pilot, n_valid)
    report["traces"] = args.traces
    write_report(report, f"{args.out}/estimate.json")
    print("pilot (measured on this machine)")
    for m in report["pilot"]:
        print(f"  {m['strategy']:9s} steps/trace {m['steps_per_trace']:.2f}  rollouts/step {m['rollouts_per_step']:.2f}"
              f"  tokens/rollout {m['tokens_per_rollout']:.1f}  engine tok/s {m['engine_tokens_per_s']:.0f}")
    print(f"projection: {dataset:,} traces at {args.tokens_per_s_per_gpu:,.0f} generated tokens/s per GPU, "
          f"{args.gpus} GPU(s), factory efficiency {args.efficiency}")
    print(report["table"])
    print(json.dumps({"estimate": f"{args.out}/estimate.json"}))


def add_subcommands(sub) -> None:
    p = sub.add_parser("estimate", help="pilot label on a sample of traces; project rollouts, tokens, GPU-hours")
    add_engine_args(p)
    p.add_argument("--traces", required=True, help="traces: Parquet file or directory, or JSONL")
    p.add_argument("--out", required=True, help="pilot runs and estimate.json go here (a rerun resumes)")
    p.add_argument("--pilot", type=int, default=50, help="traces in the pilot sample")
    p.add_argument("--strategies", default="full,binary,adaptive")
    p.add_argument("--rollouts", type=int, default=8)
    p.add_argument("--max-tokens", type=int, default=200)
    p.add_argument("--dataset-traces", type=int, default=0, help="traces in the whole dataset (default: the input's)")
    p.add_argument("--tokens-per-s-per-gpu", type=float, default=5777.0,
                   help="generated tokens/s of one GPU (default 5777: vLLM, Llama-3.1-8B FP8, one H100, MLPerf "
                        "Inference v5.1 Offline, Red Hat's submission; see docs/performance.md)")
    p.add_argument("--gpus", type=int, default=8)
    p.add_argument("--efficiency", type=float, default=1.0,
                   help="factory share of bare-engine throughput (bench/engine_efficiency.py measures it)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_estimate)
