"""``generate`` and ``label``: sample step-split traces from a policy, then label every step prefix."""
from __future__ import annotations

import json
from pathlib import Path

from pipelines.cli.common import (add_bad_records_arg, add_engine_args, build_engine, engine_kwargs,
                                  load_cli_problems, policy_name, policy_tokenizer, prompter_from_args)

LABEL_SUMMARY = ["input_traces", "rejected", "traces", "steps", "rollouts", "rollouts_per_step", "generated_tokens",
                 "verdicts", "positive_label_fraction", "hard_accuracy", "hard_balanced_accuracy", "soft_auc",
                 "first_error_accuracy", "wall_s"]


def cmd_generate(args) -> None:
    from pipelines.generate import GenerateConfig, generate_traces

    problems = load_cli_problems(args.problems, args.limit, bad_records=args.bad_records)
    engine = build_engine(args)
    prompter = prompter_from_args(args, engine.tokenizer)
    cfg = GenerateConfig(samples=args.samples, temperature=args.temperature, max_tokens=args.max_tokens,
                         seed=args.seed, shard_size=args.shard_size, step_style=prompter.step_style.value,
                         prompt_format=prompter.describe())
    summary = generate_traces(engine, problems, args.out, policy_name(args, engine), cfg, prompter=prompter)
    print(json.dumps({k: v for k, v in summary.items() if k != "config"}, indent=2))


def cmd_label(args) -> None:
    from engines.ray_pool import PoolConfig
    from engines.runtime import configure_runtime
    from labelers.rounds import LabelConfig
    from pipelines.label_run import LabelRunConfig, is_fresh_run, run_label, start_engines

    configure_runtime()
    engine_options, pool = engine_kwargs(args), PoolConfig(actors=args.actors, ray_address=args.ray_address)
    started = None
    if Path(args.traces).exists() and is_fresh_run(args.out):
        started = start_engines(args.engine, engine_options, pool)  # they build while the tokenizer loads here
    try:
        prompter = prompter_from_args(args, policy_tokenizer(args))
        label = LabelConfig(strategy=args.strategy, rollouts=args.rollouts, max_tokens=args.max_tokens,
                            seed=args.seed, temperature=args.temperature, step_style=prompter.step_style.value,
                            prompt_format=prompter.describe(), check_arithmetic=args.check_arithmetic)
    except BaseException:
        if started is not None:
            started.abort()
        raise
    cfg = LabelRunConfig(traces=args.traces, out=args.out, label=label, engine=args.engine,
                         engine_kwargs=engine_options, shard_size=args.shard_size, pool=pool)
    stats = run_label(cfg, started=started)
    print("label summary")
    for k in LABEL_SUMMARY:
        if k in stats:
            print(f"  {k:24s} {stats[k]}")
    print(f"output directory: {Path(args.out).resolve()}")


def add_subcommands(sub) -> None:
    p = sub.add_parser("generate", help="sample step-split traces from a policy")
    add_engine_args(p)
    p.add_argument("--problems", required=True)
    add_bad_records_arg(p)
    p.add_argument("--out", required=True)
    p.add_argument("--samples", type=int, default=4)
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--max-tokens", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--shard-size", type=int, default=100)
    p.add_argument("--limit", type=int, default=None)
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("label", help="Monte Carlo step labels for traces, on Ray engine actors")
    add_engine_args(p)
    p.add_argument("--traces", required=True, help="traces: Parquet file or directory, or JSONL")
    p.add_argument("--out", required=True)
    p.add_argument("--strategy", choices=["full", "binary", "adaptive"], default="full")
    p.add_argument("--rollouts", type=int, default=8, help="continuations per prefix (the cap, for adaptive)")
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--max-tokens", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--shard-size", type=int, default=64, help="traces per shard")
    p.add_argument("--no-check-arithmetic", dest="check_arithmetic", action="store_false",
                   help="count every continuation that reaches the gold answer, even through a false equation "
                        "such as '47 / 2 = 23' (plain Math-Shepherd; default: such lucky continuations are rejected)")
    p.add_argument("--actors", type=int, default=0, help="engine actors (default: 1 on CPU, one per GPU)")
    p.add_argument("--ray-address", default=None, help="attach to a Ray cluster (e.g. auto); default: local Ray")
    p.set_defaults(func=cmd_label)
