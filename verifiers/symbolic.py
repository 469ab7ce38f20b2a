"""Symbolic comparison of two scalar answers with sympy, latex2sympy and math-verify.

This is the slow part. It imports sympy/math-verify on first use and has no time
limit of its own: call it only inside a verifier worker process (see :mod:`.pool`),
which is killed when it runs too long. Nothing here calls ``eval``/``sympify`` on
answer text: LaTeX goes through latex2sympy's ANTLR parser.

Decimals are rewritten to exact fractions before parsing, so sympy never sees a
Float: ``3.14`` is not ``\\pi`` and ``0.333`` is not ``1/3``, while ``0.5x`` is ``x/2``.

Example:
    >>> symbolic_equal("2\\\\sqrt{2}", "\\\\sqrt{8}")
    True
    >>> symbolic_equal("3.14", "\\\\pi")
    False
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Any

_DECIMAL_RE = re.compile(r"(?<![\d.])(\d*)\.(\d+)(?![\d.])")
_NUMERIC_EPS_DIGITS = 30  # |a - b| < 10^-30 * max(1, |a|) counts as equal for exact constants


def decimals_to_fractions(latex: str) -> str:
    """Rewrite decimal literals as exact ``\\frac`` groups.

    Example:
        >>> decimals_to_fractions("0.25x + 1.5")
        '{\\\\frac{25}{100}}x + {\\\\frac{15}{10}}'
    """

    def repl(m: re.Match) -> str:
        whole, frac = m.group(1), m.group(2)
        num = (whole + frac).lstrip("0") or "0"
        return "{\\frac{%s}{1%s}}" % (num, "0" * len(frac))

    return _DECIMAL_RE.sub(repl, latex)


@lru_cache(maxsize=1)
def _normalization_config() -> Any:
    from latex2sympy2_extended.math_normalization import NormalizationConfig

    return NormalizationConfig(
        basic_latex=True, units=True, malformed_operators=True, nits=False, boxed="none", equations=False
    )


@lru_cache(maxsize=256)
def to_sympy(latex: str) -> Any:
    """Parse a normalized LaTeX answer into a sympy object; ``None`` if it does not parse.

    Example:
        >>> to_sympy("\\\\frac{\\\\pi}{2}")
        pi/2
    """
    from latex2sympy2_extended import latex2sympy
    from math_verify.grader import should_treat_as_complex

    try:
        text = decimals_to_fractions(latex)
        expr = latex2sympy(
            text,
            is_real=not should_treat_as_complex(text),
            convert_degrees=False,
            normalization_config=_normalization_config(),
        )
        return _imaginary_unit(expr)
    except Exception:
        return None


def _imaginary_unit(expr: Any) -> Any:
    """Read a free symbol ``i`` as the imaginary unit (``1+2i``, ``e^{i\\pi}``)."""
    from sympy import I

    syms = getattr(expr, "free_symbols", set())
    ii = [s for s in syms if getattr(s, "name", "") == "i"]
    if not ii:
        return expr
    try:
        return expr.subs({s: I for s in ii})
    except Exception:
        return expr


def _math_verify_equal(pred: Any, gold: Any) -> bool:
    """math-verify's comparison (sets, relations, matrices, symbolic), its own timeout off."""
    from math_verify import verify

    logging.getLogger("math_verify").setLevel(logging.ERROR)
    return bool(verify(gold, pred, timeout_seconds=None, strict=True))


def _numeric_equal(a: Any, b: Any) -> bool:
    """Tight numeric check for constant expressions (``\\sqrt{8}`` vs ``2\\sqrt{2}``)."""
    from sympy import Expr, N

    if not (isinstance(a, Expr) and isinstance(b, Expr)) or a.free_symbols or b.free_symbols:
        return False
    try:
        va, vb = N(a, 50), N(b, 50)
        if not (va.is_number and vb.is_number and va.is_finite and vb.is_finite):
            return False
        diff = abs(N(va - vb, 50))
        scale = max(1, abs(va))
        return bool(diff < scale * N(10) ** (-_NUMERIC_EPS_DIGITS))
    except Exception:
        return False


def _simplify_equal(pred: Any, gold: Any) -> bool:
    """Plain sympy: ``simplify(a - b) == 0`` (the PRM800K way), relations side by side."""
    from sympy import simplify
    from sympy.core.relational import Relational

    try:
        if isinstance(pred, Relational):
            if type(pred) is not type(gold):
                return False
            pred, gold = pred.lhs - pred.rhs, gold.lhs - gold.rhs
        return bool(simplify(pred - gold) == 0)
    except Exception:
        return False


BACKENDS = ("math_verify", "sympy")


def sympy_objects_equal(pred: Any, gold: Any, backend: str = "math_verify") -> bool:
    """Compare two parsed sympy objects: structural, math-verify, then a tight numeric check.

    ``backend="sympy"`` replaces math-verify's comparison by plain ``simplify(a - b) == 0``
    (kept to measure which is better, see ``bench/verifier_agreement.py``).

    Example:
        >>> from sympy import sqrt
        >>> sympy_objects_equal(2 * sqrt(2), sqrt(8))
        True
    """
    if pred is None or gold is None:
        return False
    from sympy.core.relational import Relational

    if isinstance(pred, Relational) != isinstance(gold, Relational):
        # assignments (x = 5) were already reduced to their value; any other equation
        # is not equal to a bare value (math-verify would take its right-hand side)
        return False
    try:
        if pred == gold:
            return True
    except Exception:
        pass
    try:
        if backend == "sympy":
            if _simplify_equal(pred, gold):
                return True
        elif _math_verify_equal(pred, gold):
            return True
    except Exception:
        pass
    return _numeric_equal(pred, gold)


def symbolic_equal(pred: str, gold: str, backend: str = "math_verify") -> bool:
    """True when two normalized scalar answers are equal under sympy.

    Example:
        >>> symbolic_equal("x^2+2x+1", "(x+1)^2")
        True
    """
    return sympy_objects_equal(to_sympy(pred), to_sympy(gold), backend)
