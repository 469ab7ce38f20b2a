"""``prm-factory search`` and ``prm-factory eval-search``: guided search with a PRM."""
from __future__ import annotations

import json
from pathlib import Path

from pipelines.cli.common import (add_bad_records_arg, add_engine_args, add_prm_format_args, build_engine,
                                  load_cli_problems, policy_name, prm_format_from_args, prompter_from_args)

METHOD_NAMES = ("majority", "best-of-n", "weighted-sc", "greedy-step", "beam", "lookahead")
AGGREGATION_NAMES = ("min", "last", "prod", "mean")


def _problems(args):
    return load_cli_problems(args.problems, args.limit, bad_records=args.bad_records)


def _search_config(args, method: str, n: int, engine):
    from search.config import SearchConfig

    prompter = prompter_from_args(args, engine.tokenizer)
    return SearchConfig(method=method, n=n, aggregation=args.aggregation, temperature=args.temperature,
                        max_tokens=args.max_tokens, step_max_tokens=args.step_max_tokens, max_steps=args.max_steps,
                        beam_width=args.beam_width, lookahead=args.lookahead, seed=args.seed,
                        prompt_format=prompter.describe())


def _common(args) -> dict:
    from data.provenance import portable_path

    fmt = prm_format_from_args(args)
    policy = policy_name(args) if args.engine == "openai" else portable_path(args.policy)
    return {"policy": policy, "prm": portable_path(args.prm) if args.prm else None, "engine": args.engine,
            **({"prm_format": fmt.to_dict()} if fmt is not None else {})}


def cmd_search(args) -> None:
    from pipelines.search_run import search_to_dir
    from search.config import PRM_METHODS

    if args.method in PRM_METHODS and not args.prm:
        raise ValueError(f"--method {args.method} needs --prm CKPT")
    problems = _problems(args)
    from prm_training.load import load_scorer

    scorer = load_scorer(args.prm if args.method in PRM_METHODS else None, args.prm_backend, args.threads, problems,
                         prm_format_from_args(args))
    engine = build_engine(args)
    cfg = _search_config(args, args.method, args.n, engine)
    summary = search_to_dir(engine, problems, cfg, args.out, scorer, extra=_common(args))
    print(json.dumps({k: v for k, v in summary.items() if k != "config"}, indent=2))
    print(f"output directory: {args.out}")


def cmd_eval_search(args) -> None:
    from pipelines.search_run import sweep_to_dir
    from search.sweep import SweepConfig, powers_of_two

    methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
    unknown = [m for m in methods if m not in METHOD_NAMES]
    if unknown:
        raise ValueError(f"--methods: unknown {unknown}; choose from {METHOD_NAMES}")
    if any(m != "majority" for m in methods) and not args.prm:
        raise ValueError("--methods other than majority need --prm CKPT")
    step_ns = tuple(int(x) for x in args.step_ns.split(",") if x.strip())
    problems = _problems(args)
    from prm_training.load import load_scorer

    scorer = load_scorer(args.prm, args.prm_backend, args.threads, problems, prm_format_from_args(args))
    engine = build_engine(args)
    cfg = SweepConfig(ns=powers_of_two(args.n_max), methods=methods, step_ns=step_ns,
                      search=_search_config(args, "best-of-n", args.n_max, engine))
    sweep = sweep_to_dir(engine, problems, cfg, args.out, scorer, extra=_common(args))
    print((Path(args.out) / "sweep.md").read_text())
    print(json.dumps(sweep["timings"]))
    print(f"output directory: {args.out}")


def _add_search_args(p) -> None:
    add_engine_args(p, split_options=False)
    p.add_argument("--problems", default=None, help="problems file (default: the synthetic held-out set)")
    add_bad_records_arg(p)
    p.add_argument("--limit", type=int, default=300, help="problems to use (default 300)")
    p.add_argument("--prm", default=None,
                   help="PRM checkpoint (from train-prm), or 'gold' for the exact synthetic step labels "
                        "(a perfect PRM); needed by every method but majority")
    p.add_argument("--prm-backend", choices=["hf", "vllm"], default="hf",
                   help="score steps through transformers or vLLM (a tag or third-party PRM on the pooling runner, "
                        "a likelihood PRM on prompt log-probabilities)")
    add_prm_format_args(p)
    p.add_argument("--out", required=True)
    p.add_argument("--aggregation", choices=AGGREGATION_NAMES, default="min",
                   help="step scores -> solution score (best-of-n, weighted-sc, beam ranking)")
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--max-tokens", type=int, default=200, help="tokens per whole solution")
    p.add_argument("--step-max-tokens", type=int, default=64, help="tokens per step (step-level methods)")
    p.add_argument("--max-steps", type=int, default=10)
    p.add_argument("--beam-width", type=int, default=0, help="beams kept per round (0: N/4)")
    p.add_argument("--lookahead", type=int, default=2, help="greedy steps rolled out per lookahead candidate")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2, help="torch threads of the PRM scorer")


def add_subcommands(sub) -> None:
    p = sub.add_parser("search",
                       help="PRM-guided search: majority, best-of-n, weighted-sc, greedy-step, beam, lookahead")
    _add_search_args(p)
    p.add_argument("--method", choices=METHOD_NAMES, default="best-of-n")
    p.add_argument("--n", type=int, default=16, help="samples (or candidates per step for step-level methods)")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("eval-search", help="sweep N for each search method; PNG, Markdown table, JSON")
    _add_search_args(p)
    p.add_argument("--methods", default="majority,best-of-n,weighted-sc,beam,lookahead")
    p.add_argument("--n-max", type=int, default=64, help="sweep N = 1, 2, 4, ... up to this")
    p.add_argument("--step-ns", default="4,16", help="N values for the step-level methods")
    p.set_defaults(func=cmd_eval_search)
