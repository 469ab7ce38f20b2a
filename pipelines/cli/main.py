"""``prm-factory``: build the parser from the command modules and dispatch to the chosen command."""
from __future__ import annotations

import argparse
import importlib
import sys

# Each module adds its subcommands with ``add_subcommands(sub)`` and imports nothing heavy at module level.
COMMAND_MODULES = ["pipelines.cli.policy_cmds", "pipelines.cli.trace_cmds", "pipelines.cli.report_cmds",
                   "pipelines.cli.interop_cmds", "pipelines.cli.convert_cmds", "pipelines.cli.prm_cmds",
                   "pipelines.cli.search_cmds", "pipelines.cli.rl_cmds", "pipelines.cli.rft_cmds",
                   "pipelines.cli.estimate_cmds", "pipelines.cli.flywheel_cmds"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="prm-factory", description="Process-reward-model data factory: "
                                     "Monte Carlo step labels, PRM training, guided search and RL.")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        importlib.import_module(module).add_subcommands(sub)
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
