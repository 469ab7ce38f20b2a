"""Split a normalized answer into its structure: matrix, union, set, tuple/interval, list.

Pure string work. Elements stay strings; comparing them is the caller's job.

* ``\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}`` -> matrix ``(("1","2"),("3","4"))``
* ``(-\\infty,1)\\cup(2,3]`` -> union of two intervals (unordered)
* ``\\{1,2\\}`` -> set (unordered); ``\\emptyset`` -> empty set
* ``(1,2]``, ``(1,2)``, ``[1,2]``, ``\\langle 1,2\\rangle`` -> ordered, brackets kept (open/closed matters)
* ``1, 2, 3`` -> list (unordered, the MATH "enter all solutions" convention)

Example:
    >>> parse_structure("[0,1)")
    Structure(kind='ordered', items=('0', '1'), brackets='[)')
    >>> parse_structure("\\\\{2, 1\\\\}").kind
    'set'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from .normalize import _match_close, split_top

Kind = Literal["scalar", "ordered", "set", "list", "matrix", "union"]

_MATRIX_RE = re.compile(
    r"^\[?\s*\\begin\{(?P<env>[pbBvV]?matrix|array|smallmatrix)\}(?:\{[^{}]*\})?(?P<body>.*)"
    r"\\end\{(?P=env)\}\s*\]?$",
    re.S,
)
_EMPTY_SET = frozenset({"\\emptyset", "\\varnothing", "\\{\\}", "\\{ \\}", "{}", "∅"})
_UNION_RE = re.compile(r"\\cup|(?<=[\)\]])\s*U\s*(?=[\(\[])")


@dataclass(frozen=True)
class Structure:
    """A parsed answer shape; ``items`` are element strings (rows of strings for a matrix)."""

    kind: Kind
    items: tuple = ()
    brackets: str = ""


def _encloses(s: str) -> bool:
    """True when ``s[0]`` is closed by ``s[-1]`` (any bracket kinds, so ``[0,1)`` counts)."""
    return _match_close(s, 0) == len(s) - 1


def parse_structure(s: str) -> Structure:
    """The :class:`Structure` of a normalized answer string.

    Example:
        >>> parse_structure("\\\\begin{bmatrix}1&0\\\\\\\\0&1\\\\end{bmatrix}").items
        (('1', '0'), ('0', '1'))
        >>> parse_structure("5").kind
        'scalar'
    """
    s = s.strip()
    m = _MATRIX_RE.match(s)
    if m and "\\begin" not in m.group("body"):
        rows = [r for r in split_top(m.group("body"), "\\\\") if r.strip() and r.strip() != "\\hline"]
        cells = tuple(tuple(c.strip() for c in split_top(r, "&")) for r in rows)
        return Structure("matrix", cells, "")
    if s in _EMPTY_SET:
        return Structure("set", (), "{}")
    pieces = [p.strip() for p in _split_union(s)]
    if len(pieces) > 1 and all(pieces):
        return Structure("union", tuple(pieces), "")
    if s.startswith("\\{") and s.endswith("\\}"):
        inner = s[2:-2].strip()
        if not _unbalanced(inner):
            items = [x.strip() for x in split_top(inner, ",")] if inner else []
            return Structure("set", tuple(items), "{}")
    if s.startswith("\\langle") and s.endswith("\\rangle"):
        inner = s[len("\\langle") : -len("\\rangle")]
        return Structure("ordered", tuple(x.strip() for x in split_top(inner, ",")), "()")
    if len(s) >= 2 and s[0] in "([" and s[-1] in ")]" and _encloses(s):
        items = [x.strip() for x in split_top(s[1:-1], ",")]
        if len(items) > 1:
            return Structure("ordered", tuple(items), s[0] + s[-1])
    items = [x.strip() for x in split_top(s, ",")]
    if len(items) > 1:
        return Structure("list", tuple(items), "")
    return Structure("scalar", (s,), "")


def _unbalanced(s: str) -> bool:
    depth = 0
    for c in s:
        depth += c in "({["
        depth -= c in ")}]"
        if depth < 0:
            return True
    return depth != 0


def _split_union(s: str) -> list[str]:
    """Split on top-level ``\\cup``."""
    if "\\cup" not in s and " U " not in s and "U" not in s:
        return [s]
    marked = _UNION_RE.sub("\x01", s)
    return split_top(marked, "\x01")
