"""Split a normalized answer into its structure: matrix, union, set, tuple/interval, list.

Pure string work. Elements stay strings; comparing them is the caller's job.

* ``\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}`` -> matrix ``(("1","2"),("3","4"))``
* ``(-\\infty,1)\\cup(2,3]`` -> union of two intervals (unordered)
* ``\\{1,2\\}`` -> set (unordered); ``\\emptyset`` -> empty set
* ``(1,2]``, ``(1,2)``, ``[1,2]``, ``\\langle 1,2\\rangle`` -> ordered, brackets kept (open/closed matters)
* ``1, 2, 3`` -> list (unordered, the MATH "enter all solutions" convention)
* ``3:2``, ``10:30``, ``12/25/2023`` -> ratio (parts compared in order, never a division)
* ``1 \\pm \\sqrt{19}`` -> list of the two values; ``\\{1\\} \\cup \\{2,3\\}`` -> one set

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

Kind = Literal["scalar", "ordered", "set", "list", "matrix", "union", "ratio"]

_MATRIX_RE = re.compile(
    r"^\[?\s*\\begin\{(?P<env>[pbBvV]?matrix|array|smallmatrix)\}(?:\{[^{}]*\})?(?P<body>.*)"
    r"\\end\{(?P=env)\}\s*\]?$",
    re.S,
)
_EMPTY_SET = frozenset({"\\emptyset", "\\varnothing", "\\{\\}", "\\{ \\}", "{}", "∅"})
_UNION_RE = re.compile(r"\\cup|(?<=[\)\]])\s*U\s*(?=[\(\[])")
_DATE_RE = re.compile(r"^\d{1,4}/\d{1,2}/\d{1,4}$")
_PM_RE = re.compile(r"\\pm(?![A-Za-z])|\\mp(?![A-Za-z])|±|∓")
MAX_PM = 3  # more than this many \pm in one answer are not expanded


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
        >>> parse_structure("5").kind, parse_structure("3:2").items
        ('scalar', ('3', '2'))
        >>> parse_structure("\\\\pm 3").items
        ('+ 3', '- 3')
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
        parts = [parse_structure(p) for p in pieces]
        if all(p.kind == "set" for p in parts):  # \{1\} \cup \{2,3\} is the set \{1,2,3\}
            return Structure("set", tuple(x for p in parts for x in p.items), "{}")
        return Structure("union", tuple(pieces), "")
    if s.startswith("\\{") and s.endswith("\\}"):
        inner = s[2:-2].strip()
        if not _unbalanced(inner):
            items = [x.strip() for x in split_top(inner, ",")] if inner else []
            return Structure("set", tuple(expand_pm(items)), "{}")
    if s.startswith("\\langle") and s.endswith("\\rangle"):
        inner = s[len("\\langle") : -len("\\rangle")]
        return Structure("ordered", tuple(x.strip() for x in split_top(inner, ",")), "()")
    if len(s) >= 2 and s[0] in "([" and s[-1] in ")]" and _encloses(s):
        items = [x.strip() for x in split_top(s[1:-1], ",")]
        if len(items) > 1:
            return Structure("ordered", tuple(items), s[0] + s[-1])
    items = [x.strip() for x in split_top(s, ",")]
    if len(items) > 1:
        return Structure("list", tuple(expand_pm(items)), "")
    ratio = [x.strip() for x in split_top(s, ":")]
    if len(ratio) > 1 and all(ratio) and "\\colon" not in s:
        return Structure("ratio", tuple(ratio), "")
    if _DATE_RE.match(s):
        return Structure("ratio", tuple(s.split("/")), "/")
    expanded = expand_pm([s])
    if len(expanded) > 1:
        return Structure("list", tuple(expanded), "")
    return Structure("scalar", (s,), "")


def expand_pm(items: list[str]) -> list[str]:
    """Each item with ``\\pm`` becomes its values: ``1\\pm\\sqrt{5}`` -> ``1+\\sqrt{5}``, ``1-\\sqrt{5}``.

    Several signs in one item are expanded together (``a \\pm b \\pm c`` gives four values);
    ``\\mp`` takes the opposite sign of the ``\\pm`` beside it.

    Example:
        >>> expand_pm(["\\\\frac{-1 \\\\pm \\\\sqrt{13}}{4}", "2"])
        ['\\\\frac{-1 + \\\\sqrt{13}}{4}', '\\\\frac{-1 - \\\\sqrt{13}}{4}', '2']
    """
    out: list[str] = []
    for item in items:
        signs = _PM_RE.findall(item)
        if not signs or len(signs) > MAX_PM:
            out.append(item)
            continue
        pieces = _PM_RE.split(item)
        for mask in range(2 ** len(signs)):
            text = pieces[0]
            for j, sign in enumerate(signs):
                plus = not (mask >> j) & 1
                if sign in ("\\mp", "∓"):
                    plus = not plus
                text += ("+" if plus else "-") + pieces[j + 1]
            out.append(text.replace("+-", "-").replace("--", "+").strip())
    return out


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
