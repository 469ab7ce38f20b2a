"""The ``prm-factory`` command line: ``main`` builds the parser from the command modules and dispatches.

Each ``*_cmds`` module adds its subcommands with ``add_subcommands(sub)`` and imports nothing heavy at
module level; ``common`` holds the options and loaders several commands share.
"""
