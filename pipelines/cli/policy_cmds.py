"""``synth``, ``train-policy`` and ``eval-policy``: the synthetic task, the embedded policy, policy accuracy."""
from __future__ import annotations

import json

from pipelines.cli.common import (add_bad_records_arg, add_engine_args, build_engine, load_cli_problems,
                                  prompter_from_args)


def cmd_synth(args) -> None:
    from data.loaders import write_problems_jsonl
    from data.synthetic import SynthConfig, make_problems

    cfg = SynthConfig(min_ops=args.min_ops, max_ops=args.max_ops, max_value=args.max_value)
    problems = make_problems(args.n, seed=args.seed, cfg=cfg)
    write_problems_jsonl(args.out, problems)
    print(f"wrote {len(problems)} problems to {args.out}")


def cmd_train_policy(args) -> None:
    from rl.policy_sft import PolicyTrainConfig, train_policy

    cfg = PolicyTrainConfig(steps=args.steps, lr=args.lr, seed=args.seed, hidden_size=args.hidden_size,
                            num_threads=args.threads, snapshot_every=args.snapshot_every,
                            stop_after=args.stop_after, error_propagation_prob=args.error_propagation,
                            chat=args.chat)
    out = train_policy(args.out, cfg)
    print(f"saved policy to {out}")


def cmd_eval_policy(args) -> None:
    from rl.policy_eval import policy_accuracy

    problems = load_cli_problems(args.problems, args.n, bad_records=args.bad_records)
    engine = build_engine(args)
    prompter = prompter_from_args(args, engine.tokenizer)
    greedy = policy_accuracy(engine, problems, temperature=0.0, seed=args.seed, prompter=prompter)
    sampled = policy_accuracy(engine, problems, temperature=1.0, samples=args.samples, seed=args.seed,
                              prompter=prompter)
    result = {"problems": len(problems), "greedy_accuracy": round(greedy, 4),
              f"mean_accuracy_T1_{args.samples}_samples": round(sampled, 4), "engine": args.engine,
              "prompt_format": prompter.fmt.kind,
              "policy": str(args.policy)}
    print(json.dumps(result, indent=2))


def add_subcommands(sub) -> None:
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
    p.add_argument("--chat", action="store_true",
                   help="train a chat model: ChatML turns, the instruction in the user turn, paragraph steps, "
                        "\\boxed{} answers (the embedded policy is trained so)")
    p.set_defaults(func=cmd_train_policy)

    p = sub.add_parser("eval-policy", help="held-out greedy and sampled accuracy of a policy")
    add_engine_args(p, default="hf")
    p.add_argument("--problems", default=None, help="problems file (default: the synthetic held-out set)")
    add_bad_records_arg(p)
    p.add_argument("--n", type=int, default=300)
    p.add_argument("--samples", type=int, default=4, help="samples per problem at temperature 1.0")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_eval_policy)
