"""Subcommands of prm-factory that live in their own modules (see pipelines.cli.COMMAND_MODULES)."""
