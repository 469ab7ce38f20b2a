"""Scalar comparison without sympy: exact values, percentages, a decimal gold, identities.

:func:`scalar_fast` compares two normalized scalars (no tuples, no lists) and answers True,
False or None (cannot tell: the pair needs sympy). See :mod:`.equivalence` for where it is used.

Example:
    >>> scalar_fast("2\\\\sqrt{2}", "\\\\sqrt{8}"), scalar_fast("e^x", "1") is None
    (True, True)
"""

from __future__ import annotations

import random
import re
from decimal import Decimal, localcontext
from fractions import Fraction

from .exact import Exact, Inexact, evaluate
from .latex_expr import Unsupported, children, parse_expr, variables
from .normalize import split_top
from .numeric import decimal_places, numbers_equal, parse_number, rounds_to

RELATION_RE = re.compile(r"<|>|=|\\[lg]eq?(?![A-Za-z])|\\[lg]t(?![A-Za-z])|\\neq|\\approx")
_FUNCTION_CALL_RE = re.compile(r"(?<![A-Za-z\\])[fghFGHPQ]\s*\(")
PIT_POINTS = 3
MAX_VARIABLES = 8


def _pit_safe(node: tuple, has_vars: bool) -> bool:
    """No root, fractional power or factorial of an expression with variables (PIT would lie)."""
    op = node[0]
    if op in ("num", "var", "const"):
        return True
    if op in ("root", "fact", "binom") and has_vars and variables(node):
        return False
    if op == "pow" and variables(node[2]):
        return False
    return all(_pit_safe(child, has_vars) for child in children(node))


def _points(names: list[str], seed: str) -> list[dict[str, Exact]]:
    rng = random.Random(seed)
    return [
        {v: Exact.rational(Fraction(rng.randrange(2**40, 2**41), rng.randrange(2**40, 2**41))) for v in names}
        for _ in range(PIT_POINTS)
    ]


def _decimal_gold(value: Exact, gold: str) -> bool:
    re_part, im_part = value.to_decimal(60)
    return im_part == 0 and rounds_to(re_part, gold)


def scalar_fast(p: str, g: str) -> bool | None:
    """Compare two normalized scalars without sympy; None when it cannot tell.

    Exact values compare exactly. The one tolerance: a gold written as a plain decimal is
    an approximation at its written precision, so an exact prediction that rounds to it is
    correct (``\\sqrt{2}`` against ``1.41``); a decimal prediction must equal it.

    Example:
        >>> scalar_fast("\\\\frac{1}{3}", "0.33"), scalar_fast("0.333", "\\\\frac{1}{3}")
        (True, False)
        >>> scalar_fast("(x+1)^2", "x^2+2x+1"), scalar_fast("x^2+1", "x^2-1"), scalar_fast("\\\\ln 2", "1")
        (True, False, None)
    """
    np_, ng = parse_number(p), parse_number(g)
    if np_ is not None and ng is not None:
        if numbers_equal(np_, ng):
            return True
        if decimal_places(g) is not None and decimal_places(p) is None and not np_.percent and not ng.percent:
            return np_.decimal is False and rounds_to(_fraction_decimal(np_.value), g)
        return False
    pct_p, pct_g = p.endswith("%"), g.endswith("%")
    if pct_p or pct_g:
        return _percent_scalar(p, g, pct_p, pct_g)
    if _FUNCTION_CALL_RE.search(p) or _FUNCTION_CALL_RE.search(g):
        return None
    if "=" in p or "=" in g:
        return _equations_fast(p, g)
    try:
        tp, tg = parse_expr(p), parse_expr(g)
    except (Unsupported, RecursionError):
        return None
    names = sorted(variables(tp) | variables(tg))
    if len(names) > MAX_VARIABLES or not (_pit_safe(tp, bool(names)) and _pit_safe(tg, bool(names))):
        return None
    try:
        if not names:
            vp, vg = evaluate(tp), evaluate(tg)
            if vp == vg:
                return True
            if decimal_places(g) is not None and decimal_places(p) is None:
                return _decimal_gold(vp, g)
            return False
        for env in _points(names, p + "\x00" + g):
            if evaluate(tp, env) != evaluate(tg, env):
                return False
        return True
    except (Inexact, ZeroDivisionError, OverflowError, RecursionError, ValueError):
        return None


def _equation(s: str) -> tuple | None:
    """``L - R`` of an equation ``L = R`` as a tree, when it is one plain equation."""
    parts = split_top(s, "=")
    if len(parts) != 2 or RELATION_RE.sub("", s.replace("=", "", 1)) != s.replace("=", "", 1):
        return None
    try:
        return ("sum", (parse_expr(parts[0]), ("neg", parse_expr(parts[1]))))
    except (Unsupported, RecursionError):
        return None


def _equations_fast(p: str, g: str) -> bool | None:
    """Two equations are the same when ``L1 - R1`` is a nonzero constant times ``L2 - R2``.

    Tested like polynomial identities: the ratio of the two sides must be the same at random
    rational points. ``x^2 = 0`` and ``x = 0`` have the same roots but are different equations.
    """
    ep, eg = _equation(p), _equation(g)
    if (ep is None) != (eg is None) and not RELATION_RE.search(g if ep is not None else p):
        return False  # an equation is never a bare value (assignments were reduced already)
    if ep is None or eg is None:
        return None
    names = sorted(variables(ep) | variables(eg))
    if not names or len(names) > MAX_VARIABLES or not (_pit_safe(ep, True) and _pit_safe(eg, True)):
        return None
    try:
        ratios = []
        for env in _points(names, p + "\x00" + g):
            vp, vg = evaluate(ep, env), evaluate(eg, env)
            if not vp.terms or not vg.terms:
                return None
            ratios.append(vp / vg)
        return all(r == ratios[0] for r in ratios)
    except (Inexact, ZeroDivisionError, OverflowError, RecursionError, ValueError):
        return None


def _fraction_decimal(q: Fraction) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 60
        return Decimal(q.numerator) / Decimal(q.denominator)


def _percent_scalar(p: str, g: str, pct_p: bool, pct_g: bool) -> bool | None:
    """``v%`` against ``w``: equal when ``v == w`` or ``v/100 == w`` (both exact)."""
    bare_p, bare_g = p.rstrip("%").strip(), g.rstrip("%").strip()
    if pct_p and pct_g:
        return scalar_fast(bare_p, bare_g)
    pct, plain = (bare_p, bare_g) if pct_p else (bare_g, bare_p)
    first = scalar_fast(pct, plain)
    if first:
        return True
    second = scalar_fast("\\frac{" + pct + "}{100}", plain) if first is False else None
    return second if first is False else None
