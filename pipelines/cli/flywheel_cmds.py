"""``demo`` and ``flywheel``: generate -> label -> train PRM -> search -> RL, once on the embedded default,
or repeated for ``--rounds``."""
from __future__ import annotations


def cmd_demo(args) -> None:
    from pipelines.demo import run_demo

    run_demo(args.out, n_problems=args.problems, samples=args.samples, engine_name=args.engine,
             rft_steps=args.rft_steps, seed=args.seed)


def cmd_flywheel(args) -> None:
    from pipelines.flywheel import FlywheelConfig, rounds_table, run_flywheel
    from pipelines.flywheel_report import write_flywheel_report

    cfg = FlywheelConfig(rounds=args.rounds, policy=args.policy or "", engine=args.engine,
                         label_problems=args.label_problems, samples=args.samples, strategy=args.strategy,
                         rollouts=args.rollouts, prm_kind=args.prm_kind, prm_epochs=args.prm_epochs,
                         search_problems=args.search_problems, search_n=args.search_n,
                         rl_problems=args.rl_problems, rl_iterations=args.rl_iterations,
                         rl_problems_per_iteration=args.rl_problems_per_iteration, rl_group_size=args.group_size,
                         rl_lr=args.rl_lr, rl_reward=args.reward, policy_step=args.policy_step,
                         rft_samples=args.rft_samples, rft_steps=args.rft_steps, rft_vet=args.rft_vet, heldout_n=args.heldout_n, threads=args.threads,
                         seed=args.seed)
    result = run_flywheel(cfg, args.out)
    report = write_flywheel_report(args.out, result["rounds"])
    print(rounds_table(result["rounds"]))
    print(f"report: {report}")
    print(f"output directory: {args.out}")


def add_subcommands(sub) -> None:
    p = sub.add_parser("demo", help="one turn of the flywheel end to end on the embedded default")
    p.add_argument("--out", default="runs/demo")
    p.add_argument("--problems", type=int, default=100, help="training problems to label")
    p.add_argument("--samples", type=int, default=4)
    p.add_argument("--engine", choices=["vllm", "hf"], default="vllm")
    p.add_argument("--rft-steps", type=int, default=None, help="fine-tuning steps of the policy step "
                   "(default: the demo's own)")
    p.add_argument("--seed", type=int, default=0, help="seed of every sampling and training stage")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("flywheel", help="rounds of generate -> label -> PRM -> search -> RL -> new policy")
    p.add_argument("--out", required=True)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--policy", default=None, help="starting policy (default: the embedded tiny policy)")
    p.add_argument("--engine", choices=["vllm", "hf"], default="vllm")
    p.add_argument("--label-problems", type=int, default=200, help="fresh training problems labeled per round")
    p.add_argument("--samples", type=int, default=4, help="traces per problem")
    p.add_argument("--strategy", choices=["full", "binary", "adaptive"], default="binary")
    p.add_argument("--rollouts", type=int, default=8)
    p.add_argument("--prm-kind", choices=["likelihood", "tag"], default="likelihood")
    p.add_argument("--prm-epochs", type=int, default=3, help="tag PRM only")
    p.add_argument("--search-problems", type=int, default=100, help="held-out problems for search")
    p.add_argument("--search-n", type=int, default=16)
    p.add_argument("--rl-problems", type=int, default=256)
    p.add_argument("--rl-iterations", type=int, default=10)
    p.add_argument("--rl-problems-per-iteration", type=int, default=16)
    p.add_argument("--group-size", type=int, default=8)
    p.add_argument("--rl-lr", type=float, default=1e-4)
    p.add_argument("--reward", choices=["process", "outcome"], default="process")
    p.add_argument("--policy-step", choices=["rl", "rft"], default="rl",
                   help="how each round improves the policy: PPO with the PRM's process rewards (rl), or "
                        "fine-tuning on its own verified samples (rft; uses --rl-problems)")
    p.add_argument("--rft-samples", type=int, default=4, help="rft: samples per problem")
    p.add_argument("--rft-steps", type=int, default=500, help="rft: fine-tuning steps per round")
    p.add_argument("--rft-vet", action="store_true",
                   help="rft: keep only samples whose lowest step score under the round's PRM is >= 0.5 "
                        "(with the likelihood PRM this hurt: docs/rl.md)")
    p.add_argument("--heldout-n", type=int, default=100, help="held-out problems for greedy accuracy")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_flywheel)
