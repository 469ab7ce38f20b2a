"""The ``prm-factory`` command line. Each subcommand parses its options and calls one library function."""
from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

from data.assets import default_policy_path


# Modules that each add one or more subcommands with ``add_subcommand(subparsers)``; they must
# import nothing heavy at module level.
COMMAND_MODULES = ["pipelines.commands.report", "pipelines.commands.interop", "pipelines.commands.convert",
                   "pipelines.commands.prm", "pipelines.commands.rl", "pipelines.commands.rft",
                   "pipelines.commands.estimate", "pipelines.commands.search",
                   "pipelines.commands.flywheel"]


def _add_engine_args(p: argparse.ArgumentParser, default: str = "vllm") -> None:
    p.add_argument("--engine", choices=["vllm", "hf", "openai"], default=default)
    p.add_argument("--policy", default=str(default_policy_path()),
                   help="HF checkpoint of the policy (default: the embedded tiny policy)")
    p.add_argument("--base-url", default=None, help="openai engine: server URL, e.g. http://127.0.0.1:8000/v1")
    p.add_argument("--served-model", default=None, help="openai engine: model name on the server")
    p.add_argument("--tensor-parallel-size", type=int, default=1, help="vllm engine on GPU")
    p.add_argument("--max-model-len", type=int, default=512,
                   help="vllm engine: context length (the tiny policy has 512; real models want 1024 or more)")
    p.add_argument("--kv-cache-bytes", type=int, default=512 << 20, help="vllm engine on CPU: KV cache size")


def build_engine(args, cache_dir: str | Path | None = None):
    from pipelines.engines import make_engine
    from pipelines.runtime import configure_runtime

    configure_runtime(cache_dir)
    if args.engine == "openai":
        if not args.base_url:
            raise SystemExit("--engine openai needs --base-url")
        return make_engine("openai", base_url=args.base_url, model=args.served_model)
    if not Path(args.policy).is_dir():
        raise SystemExit(f"--policy {args.policy}: no such checkpoint directory")
    return make_engine(args.engine, **engine_kwargs(args))


def engine_kwargs(args) -> dict:
    """Keyword arguments of the local engine (vllm or hf) named on the command line."""
    kwargs = {"model": str(Path(args.policy).resolve())}
    if args.engine == "vllm":
        kwargs.update(max_model_len=args.max_model_len, kv_cache_memory_bytes=args.kv_cache_bytes)
        if args.tensor_parallel_size > 1:
            kwargs["tensor_parallel_size"] = args.tensor_parallel_size
    else:
        kwargs["max_model_len"] = args.max_model_len
    return kwargs


def policy_name(args) -> str:
    if args.engine == "openai" and args.served_model:
        return args.served_model
    return Path(args.policy).name


def cmd_synth(args) -> None:
    from data.loaders import write_problems_jsonl
    from data.synthetic import SynthConfig, make_problems

    cfg = SynthConfig(min_ops=args.min_ops, max_ops=args.max_ops, max_value=args.max_value)
    problems = make_problems(args.n, seed=args.seed, cfg=cfg)
    write_problems_jsonl(args.out, problems)
    print(f"wrote {len(problems)} problems to {args.out}")


def cmd_train_policy(args) -> None:
    from prm_training.policy_sft import PolicyTrainConfig, train_policy

    cfg = PolicyTrainConfig(steps=args.steps, lr=args.lr, seed=args.seed, hidden_size=args.hidden_size,
                            num_threads=args.threads, snapshot_every=args.snapshot_every,
                            stop_after=args.stop_after, error_propagation_prob=args.error_propagation)
    out = train_policy(args.out, cfg)
    print(f"saved policy to {out}")


def cmd_eval_policy(args) -> None:
    from pipelines.policy_eval import policy_accuracy

    problems = _load_or_heldout(args.problems, args.n)
    engine = build_engine(args)
    greedy = policy_accuracy(engine, problems, temperature=0.0, seed=args.seed)
    sampled = policy_accuracy(engine, problems, temperature=1.0, samples=args.samples, seed=args.seed)
    result = {"problems": len(problems), "greedy_accuracy": round(greedy, 4),
              f"mean_accuracy_T1_{args.samples}_samples": round(sampled, 4), "engine": args.engine,
              "policy": str(args.policy)}
    print(json.dumps(result, indent=2))


def _load_or_heldout(path: str | None, n: int):
    from data.synthetic import SynthSplit

    if path:
        from data.loaders import load_problems

        return load_problems(path, limit=n)
    return SynthSplit().heldout(n)


def cmd_generate(args) -> None:
    from data.loaders import load_problems
    from pipelines.generate import GenerateConfig, generate_traces

    problems = load_problems(args.problems, limit=args.limit)
    cfg = GenerateConfig(samples=args.samples, temperature=args.temperature, max_tokens=args.max_tokens,
                         seed=args.seed, shard_size=args.shard_size, step_style=args.step_style)
    engine = build_engine(args, cache_dir=args.out)
    summary = generate_traces(engine, problems, args.out, policy_name(args), cfg)
    print(json.dumps({k: v for k, v in summary.items() if k != "config"}, indent=2))


def cmd_label(args) -> None:
    from pipelines.label_run import LabelRunConfig, run_label
    from pipelines.labeling import LabelConfig
    from pipelines.ray_pool import PoolConfig
    from pipelines.runtime import configure_runtime

    configure_runtime(args.out)
    label = LabelConfig(strategy=args.strategy, rollouts=args.rollouts, max_tokens=args.max_tokens, seed=args.seed,
                        temperature=args.temperature, step_style=args.step_style,
                        check_arithmetic=args.check_arithmetic)
    if args.engine == "openai":
        kwargs = {"base_url": args.base_url, "model": args.served_model}
    else:
        kwargs = engine_kwargs(args)
    cfg = LabelRunConfig(traces=args.traces, out=args.out, label=label, engine=args.engine,
                         engine_kwargs=kwargs, shard_size=args.shard_size,
                         pool=PoolConfig(actors=args.actors, ray_address=args.ray_address))
    stats = run_label(cfg)
    print_label_summary(stats, args.out)


def print_label_summary(stats: dict, out: str) -> None:
    keys = ["input_traces", "rejected", "traces", "steps", "rollouts", "rollouts_per_step", "generated_tokens",
            "verdicts", "positive_label_fraction", "hard_accuracy", "hard_balanced_accuracy", "soft_auc",
            "first_error_accuracy", "wall_s"]
    print("label summary")
    for k in keys:
        if k in stats:
            print(f"  {k:24s} {stats[k]}")
    print(f"output directory: {Path(out).resolve()}")


def cmd_demo(args) -> None:
    from pipelines.demo import run_demo

    run_demo(args.out, n_problems=args.problems, samples=args.samples, engine_name=args.engine,
             rl_iterations=args.rl_iterations)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="prm-factory", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("synth", help="write synthetic arithmetic problems with gold steps (JSONL)")
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    p.add_argument("--min-ops", type=int, default=2)
    p.add_argument("--max-ops", type=int, default=5)
    p.add_argument("--max-value", type=int, default=300)
    p.set_defaults(func=cmd_synth)

    p = sub.add_parser("train-policy", help="train the tiny Llama policy on the synthetic task")
    p.add_argument("--out", required=True)
    p.add_argument("--steps", type=int, default=4000)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--hidden-size", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--snapshot-every", type=int, default=0, help="also save OUT/step-N every N steps")
    p.add_argument("--stop-after", type=int, default=0, help="stop after this many steps of the --steps schedule")
    p.add_argument("--error-propagation", type=float, default=0.0,
                   help="fraction of training solutions with one wrong result carried into later steps")
    p.set_defaults(func=cmd_train_policy)

    p = sub.add_parser("eval-policy", help="held-out greedy and sampled accuracy of a policy")
    _add_engine_args(p, default="hf")
    p.add_argument("--problems", default=None, help="problems file (default: the synthetic held-out set)")
    p.add_argument("--n", type=int, default=300)
    p.add_argument("--samples", type=int, default=4, help="samples per problem at temperature 1.0")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_eval_policy)

    p = sub.add_parser("generate", help="sample step-split traces from a policy")
    _add_engine_args(p)
    p.add_argument("--problems", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--samples", type=int, default=4)
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--max-tokens", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--shard-size", type=int, default=100)
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--step-style", choices=["newline", "paragraph", "step_marker"], default="newline")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("label", help="Monte Carlo step labels for traces, on Ray engine actors")
    _add_engine_args(p)
    p.add_argument("--traces", required=True, help="traces: Parquet file or directory, or JSONL")
    p.add_argument("--out", required=True)
    p.add_argument("--strategy", choices=["full", "binary", "adaptive"], default="full")
    p.add_argument("--rollouts", type=int, default=8, help="continuations per prefix (the cap, for adaptive)")
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--max-tokens", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--shard-size", type=int, default=64, help="traces per shard")
    p.add_argument("--step-style", choices=["newline", "paragraph", "step_marker"], default="newline",
                   help="how the traces were split into steps (sets the delimiter of rollout prompts)")
    p.add_argument("--no-check-arithmetic", dest="check_arithmetic", action="store_false",
                   help="count every continuation that reaches the gold answer, even through a false equation "
                        "such as '47 / 2 = 23' (plain Math-Shepherd; default: such lucky continuations are rejected)")
    p.add_argument("--actors", type=int, default=0, help="engine actors (default: 1 on CPU, one per GPU)")
    p.add_argument("--ray-address", default=None, help="attach to a Ray cluster (e.g. auto); default: local Ray")
    p.set_defaults(func=cmd_label)

    p = sub.add_parser("demo", help="one turn of the flywheel end to end on the embedded default")
    p.add_argument("--out", default="runs/demo")
    p.add_argument("--problems", type=int, default=100, help="training problems to label")
    p.add_argument("--samples", type=int, default=4)
    p.add_argument("--engine", choices=["vllm", "hf"], default="vllm")
    p.add_argument("--rl-iterations", type=int, default=None, help="RL iterations (default: the demo's 16)")
    p.set_defaults(func=cmd_demo)

    for module in COMMAND_MODULES:
        importlib.import_module(module).add_subcommand(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (ValueError, FileNotFoundError) as err:
        print(f"prm-factory {args.command}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
