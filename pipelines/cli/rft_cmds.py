"""``prm-factory rft``: rejection-sampling fine-tuning of the policy on its own verified (and PRM-vetted) samples.

"""
from __future__ import annotations

import json

from pipelines.cli.common import (add_bad_records_arg, add_prm_format_args, add_prompt_args, cli_prompt_format,
                                  load_cli_problems, prm_path_from_args)


def cmd_rft(args) -> None:
    from rl.rft import RFTConfig, run_rft

    cfg = RFTConfig(prompt_format=cli_prompt_format(args),
                    policy=args.policy or "", prm=prm_path_from_args(args, args.out),
                    prm_threshold=args.prm_threshold,
                    samples=args.samples, temperature=args.temperature, max_tokens=args.max_tokens,
                    check_arithmetic=not args.no_check_arithmetic, steps=args.steps, batch_size=args.batch_size,
                    lr=args.lr, seed=args.seed, heldout_n=args.heldout_n, eval_every=args.eval_every,
                    engine=args.engine, threads=args.threads, progress=not args.no_progress)
    summary = run_rft(cfg, load_cli_problems(args.problems, args.n_train, default="train",
                                                  bad_records=args.bad_records), args.out)
    keys = ["status", "steps_done", "heldout_n", "heldout_accuracy_before", "heldout_accuracy_after",
            "heldout_accuracy_by_step", "sampled", "correct", "false_equation", "prm_rejected", "kept", "wall_s",
            "policy_dir"]
    print(json.dumps({k: summary[k] for k in keys if k in summary}, indent=2))
    print(f"output directory: {args.out}")


def add_subcommands(sub) -> None:
    p = sub.add_parser("rft", help="rejection-sampling fine-tuning of the policy on its own verified samples")
    p.add_argument("--policy", default=None, help="HF checkpoint of the policy (default: the embedded tiny policy)")
    p.add_argument("--prm", default=None,
                   help="optional PRM checkpoint (train-prm) or 'gold': keep a correct sample only if its lowest "
                        "step score is at least --prm-threshold")
    p.add_argument("--prm-threshold", type=float, default=0.5)
    p.add_argument("--problems", default=None,
                   help="training problems file (default: synthetic training problems, disjoint from held-out)")
    add_bad_records_arg(p)
    p.add_argument("--n-train", type=int, default=4000, help="training problems to use (the first N)")
    p.add_argument("--out", required=True, help="run directory (rerun the same command to resume)")
    p.add_argument("--samples", type=int, default=4, help="solutions sampled per problem")
    p.add_argument("--temperature", type=float, default=0.7)
    p.add_argument("--max-tokens", type=int, default=200)
    p.add_argument("--no-check-arithmetic", action="store_true",
                   help="keep correct samples even when one of their own equations is false")
    p.add_argument("--steps", type=int, default=1000, help="fine-tuning steps (may grow on a rerun)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--heldout-n", type=int, default=300)
    p.add_argument("--eval-every", type=int, default=500, help="held-out greedy accuracy and a checkpoint every N steps")
    p.add_argument("--engine", choices=["vllm", "hf"], default="vllm", help="sampling engine")
    p.add_argument("--threads", type=int, default=2)
    add_prompt_args(p)
    add_prm_format_args(p)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_rft)
