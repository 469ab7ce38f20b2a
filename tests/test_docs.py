"""The user docs stay true to the CLI and free of work history.

Every ``prm-factory SUBCOMMAND ...`` shown in README.md or docs/*.md (in a code block or an inline
code span) must name a real subcommand and only options its parser accepts, with values its choices
and types accept. A command in a code block with no placeholder in it (``DIR``, ``[--opt]``, ``a|b``,
``...``, ``$VAR``) must parse in full, required options included; an inline span may be a fragment
(``prm-factory rl --device cuda``). The README stays short, and no page speaks of the project's own
history or of the build machine's paths.
"""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
README_MAX_LINES = 230
# Work-history phrases and build-machine paths, spelled in parts so that this file does not match itself.
HISTORY = re.compile("|".join([r"sess" + r"ion \d", r"\bthe le" + r"ad\b", r"iss" + r"ue #\d", r"(?<![\w./-])/wo" + r"rk/"]),
                     re.IGNORECASE)
_FENCE = re.compile(r"^\s*```")
_INLINE = re.compile(r"`([^`\n]+)`")
_PLACEHOLDER = re.compile(r"^[A-Z][A-Z0-9_]*$|[\[\]|<>$]|\.\.\.|…")
_SHELL_STOP = {"&&", "||", ";", "|", ">", ">>", "2>&1", "&"}


def code_lines(text: str) -> list[tuple[int, str, bool]]:
    """``(line number, code, in a block)``: lines of fenced blocks (continuations joined), and inline code spans.

    >>> code_lines("x `prm-factory demo` y\\n```\\nprm-factory label \\\\\\n  --out D\\n```")
    [(1, 'prm-factory demo', False), (3, 'prm-factory label    --out D', True)]
    """
    found, in_block, pending, start = [], False, "", 0
    for number, line in enumerate(text.splitlines(), 1):
        if _FENCE.match(line):
            in_block = not in_block
            continue
        if in_block:
            if not pending:
                start = number
            if line.rstrip().endswith("\\"):
                pending += line.rstrip()[:-1] + " "
                continue
            found.append((start, pending + line, True))
            pending = ""
        else:
            found.extend((number, span.replace("\\|", "|"), False) for span in _INLINE.findall(line))
    return found


def commands(code: str) -> list[list[str]]:
    """The argument lists that follow each ``prm-factory`` in a line of code, up to a shell operator.

    >>> commands("prm-factory label --out D  # note && more")
    [['label', '--out', 'D']]
    >>> commands(".venv/bin/prm-factory demo && prm-factory report runs/demo")
    [['demo'], ['report', 'runs/demo']]
    """
    try:
        tokens = shlex.split(code, comments=True)
    except ValueError:  # an unbalanced quote in prose-like code: read it word by word
        tokens = code.split()
    out: list[list[str]] = []
    current: list[str] | None = None
    for token in tokens:
        if token == "prm-factory" or token.endswith("/prm-factory"):
            current = []
            out.append(current)
        elif token in _SHELL_STOP:
            current = None
        elif current is not None:
            current.append(token)
    return out


def shown_commands() -> list[tuple[str, list[str], bool]]:
    """``(page:line, arguments, in a block)`` for every ``prm-factory`` command on the pages."""
    shown = []
    for page in PAGES:
        for number, code, block in code_lines(page.read_text(encoding="utf-8")):
            for argv in commands(code):
                shown.append((f"{page.relative_to(ROOT)}:{number}", argv, block))
    return shown


def is_placeholder(token: str) -> bool:
    """True for a stand-in the reader replaces (``DIR``, ``[--opt]``, ``hard|soft``, ``$C``, ``...``).

    >>> [is_placeholder(t) for t in ("CKPT", "runs/prm", "[--seed", "hard|soft", "$C", "0.7")]
    [True, False, True, True, True, False]
    """
    return bool(_PLACEHOLDER.search(token))


def bad_values(argv: list[str], actions: dict) -> list[str]:
    """``--opt value`` pairs whose value the option's choices or type refuse (placeholders pass)."""
    bad = []
    for option, value in zip(argv, argv[1:]):
        action = actions.get(option)
        if action is None or action.nargs == 0 or is_placeholder(value) or value.startswith("-"):
            continue
        if action.choices is not None and value not in action.choices:
            bad.append(f"{option} {value} (choices: {', '.join(map(str, action.choices))})")
        elif action.type in (int, float):
            try:
                action.type(value)
            except ValueError:
                bad.append(f"{option} {value} (expected {action.type.__name__})")
    return bad


@pytest.fixture(scope="module")
def parsers():
    import argparse

    from pipelines.cli.main import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return parser, sub.choices


def test_pages_show_commands():
    assert len(shown_commands()) >= 30, "README.md and docs/ should show the commands of every stage"


@pytest.mark.parametrize("where,argv,block", shown_commands(), ids=lambda v: v if isinstance(v, str) else "")
def test_shown_command_parses(where, argv, block, parsers, capsys):
    parser, subparsers = parsers
    if not argv or argv[0].startswith("-"):
        unknown = [a for a in argv if a.startswith("-") and a not in parser._option_string_actions]
        assert not unknown, f"{where}: prm-factory has no option {unknown}"
        return
    name = argv[0]
    if is_placeholder(name):
        return  # "prm-factory <subcommand>", "prm-factory CMD": a placeholder, not a command
    assert name in subparsers, f"{where}: no subcommand {name!r} (have {sorted(subparsers)})"
    actions = subparsers[name]._option_string_actions
    options = [a.strip("[]").split("=", 1)[0] for a in argv[1:] if a.lstrip("[").startswith("--")]
    unknown = [o for o in options if o not in actions]
    assert not unknown, f"{where}: `prm-factory {name}` has no option {unknown}"
    bad = bad_values([a.strip("[]") for a in argv[1:]], actions)
    assert not bad, f"{where}: `prm-factory {name}` refuses {bad}"
    if not block or any(is_placeholder(a) for a in argv[1:]) or "-h" in argv or "--help" in argv:
        return
    try:
        parser.parse_args(argv)
    except SystemExit:
        pytest.fail(f"{where}: `prm-factory {shlex.join(argv)}` does not parse: {capsys.readouterr().err.strip()}")


def test_readme_is_short():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; keep it at most {README_MAX_LINES}"


def test_every_result_is_explained_in_performance_md():
    page = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    missing = [f.stem for f in sorted((ROOT / "bench" / "results").glob("*.json"))
               if f"(results.md#{f.stem})" not in page]
    assert not missing, f"docs/performance.md links no section of results.md for: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_work_history(page):
    hits = [f"{page.relative_to(ROOT)}:{n}: {line.strip()}"
            for n, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1) if HISTORY.search(line)]
    assert not hits, "work history or machine paths in the docs:\n" + "\n".join(hits)


def test_examples_in_this_module():
    import doctest
    import sys

    result = doctest.testmod(sys.modules[__name__])
    assert result.attempted >= 4 and result.failed == 0
