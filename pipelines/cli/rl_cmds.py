"""``prm-factory rl``: PPO-clip RL of the policy with PRM process rewards (or verifier outcome rewards).

"""
from __future__ import annotations

import argparse
import json

from pipelines.cli.common import (add_bad_records_arg, add_prm_format_args, add_prompt_args, cli_prompt_format,
                                  load_cli_problems, prm_path_from_args)


def cmd_rl(args) -> None:
    from rl.config import RLConfig
    from rl.trainer import run_rl

    cfg = RLConfig(prompt_format=cli_prompt_format(args),
                   policy=args.policy or "", prm=prm_path_from_args(args, args.out), reward=args.reward,
                   group_size=args.group_size,
                   iterations=args.iterations, problems_per_iteration=args.problems_per_iteration, lr=args.lr,
                   clip=args.clip, clip_high=args.clip_high, negative_scale=args.negative_scale,
                   kl_coef=args.kl_coef, ppo_epochs=args.ppo_epochs, minibatch_size=args.minibatch_size,
                   stratify=args.stratify, drop_zero_advantage=args.drop_zero_advantage,
                   temperature=args.temperature, max_tokens=args.max_tokens,
                   outcome_weight=args.outcome_weight, check_arithmetic=args.check_arithmetic, seed=args.seed,
                   heldout_n=args.heldout_n, eval_every=args.eval_every, threads=args.threads, device=args.device,
                   mc_rollouts=args.mc_rollouts, mc_strategy=args.mc_strategy, progress=not args.no_progress)
    problems = load_cli_problems(args.problems, args.n_train, default="train", bad_records=args.bad_records)
    summary = run_rl(cfg, problems, args.out)
    keys = ["status", "iterations_done", "reward_type", "heldout_n", "heldout_accuracy_before",
            "heldout_accuracy_after", "reward_first", "reward", "train_accuracy_first", "train_accuracy_last",
            "samples", "mc_rollouts", "wall_s", "policy_dir"]
    print(json.dumps({k: summary[k] for k in keys if k in summary}, indent=2))
    print(f"output directory: {args.out}")


def add_subcommands(sub) -> None:
    p = sub.add_parser("rl", help="RL of the policy (PPO-clip, group-normalized process or outcome rewards)",
                       description="The defaults are the recipe measured in docs/rl.md: 256 problems x 4 samples "
                                   "per iteration, positive advantages only, 4 PPO epochs, lr 1e-4, T 0.7.")
    p.add_argument("--policy", default=None, help="HF checkpoint of the policy (default: the embedded tiny policy)")
    p.add_argument("--prm", default=None,
                   help="PRM checkpoint (train-prm); 'mc' (each sample's Monte Carlo step labels, drawn online "
                        "from the policy being trained, as `prm-factory label` would); or 'gold' (exact synthetic "
                        "step labels, a ceiling); required for --reward process")
    p.add_argument("--problems", default=None,
                   help="training problems file (default: synthetic training problems, disjoint from held-out)")
    add_bad_records_arg(p)
    p.add_argument("--n-train", type=int, default=4000, help="training problems to use (the first N)")
    p.add_argument("--out", required=True, help="run directory (rerun the same command to resume)")
    p.add_argument("--reward", choices=["process", "outcome"], default="process")
    p.add_argument("--group-size", type=int, default=4, help="G samples per problem")
    p.add_argument("--iterations", type=int, default=25)
    p.add_argument("--problems-per-iteration", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--clip", type=float, default=0.2)
    p.add_argument("--clip-high", type=float, default=0.0,
                   help="upper clip of the probability ratio (DAPO clip-higher); 0: the same as --clip")
    p.add_argument("--negative-scale", type=float, default=0.0,
                   help="multiply negative advantages by this (1: plain group normalization; 0: only samples "
                        "and steps better than their group's mean are pushed, the others are left alone)")
    p.add_argument("--kl-coef", type=float, default=0.02)
    p.add_argument("--ppo-epochs", type=int, default=4)
    p.add_argument("--minibatch-size", type=int, default=64)
    p.add_argument("--stratify", action=argparse.BooleanOptionalAction, default=True,
                   help="minibatches take one sample of every problem before a second one (instead of a plain "
                        "shuffle); use with --problems-per-iteration >= --minibatch-size")
    p.add_argument("--drop-zero-advantage", action=argparse.BooleanOptionalAction, default=True,
                   help="leave samples whose every token advantage is 0 out of the update (groups that all "
                        "scored alike; with --negative-scale 0, samples at or below their group's mean), so "
                        "every minibatch holds samples that push")
    p.add_argument("--temperature", type=float, default=0.7)
    p.add_argument("--max-tokens", type=int, default=200)
    p.add_argument("--outcome-weight", type=float, default=0.0,
                   help="process reward: add W * verifier outcome (1/0) to the last step's reward (0: pure PRM)")
    p.add_argument("--check-arithmetic", action=argparse.BooleanOptionalAction, default=True,
                   help="a false equation in a sample (e.g. '5 x 3 = 16') zeroes its outcome reward and, for "
                        "process rewards, its step's reward, as the labeler's arithmetic check does")
    p.add_argument("--mc-rollouts", type=int, default=4, help="--prm mc: continuations per probed prefix")
    p.add_argument("--mc-strategy", choices=["full", "binary", "adaptive"], default="binary",
                   help="--prm mc: labeling strategy for each sample")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--heldout-n", type=int, default=300)
    p.add_argument("--eval-every", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="auto",
                   help="where the policy trains and samples: auto (CUDA when a GPU is seen), cpu, cuda, cuda:N; "
                        "not part of the run's identity, so a run resumes on another device")
    add_prompt_args(p)
    add_prm_format_args(p)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_rl)
