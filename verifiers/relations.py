"""Inequalities in one variable, rewritten as intervals (pure string work).

``x \\le 0`` is ``(-\\infty,0]``, ``3 < x \\le 4`` is ``(3,4]``, and ``x<2, x>3`` (after
normalization turned ``or`` into a comma) is ``(-\\infty,2)\\cup(3,\\infty)``. Only a
variable (or a name such as ``f(x)``) against constants is rewritten: ``-x > -1`` and
``x^2 < 4`` are left alone and go to sympy as relations.

Example:
    >>> as_intervals("3 < x \\\\le 4")
    ('x', '(3,4]')
    >>> as_intervals("x<2,x>3")
    ('x', '(-\\\\infty,2)\\\\cup(3,\\\\infty)')
    >>> as_intervals("x^2 < 4") is None
    True
"""

from __future__ import annotations

import re

from .normalize import is_name, split_top

_REL_RE = re.compile(r"<=|>=|\\leq?(?![A-Za-z])|\\geq?(?![A-Za-z])|\\lt(?![A-Za-z])|\\gt(?![A-Za-z])|\\leqslant|\\geqslant|<|>")
_VAR_RE = re.compile(r"[A-Za-z]")


def _kind(op: str) -> tuple[str, bool]:
    """``("<" or ">", inclusive)`` of a relation symbol."""
    less = op.startswith("<") or op.startswith("\\l")
    inclusive = op in ("<=", ">=") or op.startswith(("\\le", "\\ge")) and op not in ("\\lt", "\\gt")
    return ("<" if less else ">"), inclusive


def has_relation(s: str) -> bool:
    """True when ``s`` holds an inequality sign.

    Example:
        >>> has_relation("x \\\\geq 5"), has_relation("(1,2]")
        (True, False)
    """
    return bool(_REL_RE.search(s))


def _constant(s: str) -> bool:
    s = s.strip()
    return bool(s) and not _VAR_RE.search(s.replace("\\infty", "").replace("\\sqrt", "").replace("\\frac", "")
                                          .replace("\\pi", "").replace("\\dfrac", ""))


def _one(piece: str) -> tuple[str, str] | None:
    """``(variable, interval)`` of one chain such as ``a < x <= b``."""
    parts = _REL_RE.split(piece)
    ops = _REL_RE.findall(piece)
    if not ops or len(ops) > 2:
        return None
    terms = [p.strip() for p in parts]
    names = [i for i, t in enumerate(terms) if not _constant(t)]
    if len(names) != 1 or not is_name(terms[names[0]]):
        return None
    var = terms[names[0]].replace(" ", "")
    lo, hi, lo_in, hi_in = "-\\infty", "\\infty", False, False
    for j, op in enumerate(ops):
        direction, inclusive = _kind(op)
        left, right = terms[j], terms[j + 1]
        if right.replace(" ", "") == var and left.replace(" ", "") != var:  # c < x or c > x
            bound, upper = left, direction == ">"
        elif left.replace(" ", "") == var and right.replace(" ", "") != var:  # x < c or x > c
            bound, upper = right, direction == "<"
        else:
            return None
        if upper:
            hi, hi_in = bound, inclusive
        else:
            lo, lo_in = bound, inclusive
    if len(ops) == 2 and (_kind(ops[0])[0] != _kind(ops[1])[0]):
        return None  # a < x > b is not an interval
    return var, ("[" if lo_in else "(") + lo + "," + hi + ("]" if hi_in else ")")


def as_intervals(s: str) -> tuple[str, str] | None:
    """``(variable, interval or union)`` for an inequality in one variable, else ``None``.

    Example:
        >>> as_intervals("x \\\\geq 5")
        ('x', '[5,\\\\infty)')
    """
    if not has_relation(s) or len(s) > 500:
        return None
    pieces = [p for p in split_top(s, ",") if p.strip()]
    out, var = [], None
    for piece in pieces:
        one = _one(piece)
        if one is None or (var is not None and one[0] != var):
            return None
        var = one[0]
        out.append(one[1])
    if var is None:
        return None
    return var, "\\cup".join(out)
