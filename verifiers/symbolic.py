"""Symbolic comparison of two scalar answers with sympy, latex2sympy and math-verify.

This is the slow part. It imports sympy/math-verify on first use and has no time
limit of its own: call it only inside a verifier worker process (see :mod:`.pool`),
which is killed when it runs too long. Nothing here calls ``eval``/``sympify`` on
answer text: LaTeX goes through latex2sympy's ANTLR parser. No comparison here uses a
float tolerance: constants compare exactly (:func:`constants_equal`), expressions by
simplifying their difference to 0.

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
    """math-verify's comparison (relations, sets), its own timeout off."""
    from math_verify import verify

    logging.getLogger("math_verify").setLevel(logging.ERROR)
    return bool(verify(gold, pred, timeout_seconds=None, strict=True))


def constants_equal(a: Any, b: Any) -> bool:
    """Exact equality of two constant expressions; never a tolerance on the values.

    The difference is evaluated with sympy's adaptive precision (up to 400 digits): a
    nonzero difference shows its digits however close the two values are (``100!`` and
    ``100!+1``; ``e^{\\pi\\sqrt{163}}`` and the integer 7.5e-13 away). Only a difference
    with no significant digit at 400 digits counts as zero.

    Example:
        >>> from sympy import factorial, sqrt
        >>> constants_equal(factorial(100) + 1, factorial(100)), constants_equal(sqrt(5 + 2*sqrt(6)), sqrt(2) + sqrt(3))
        (False, True)
    """
    from sympy import Expr

    if not (isinstance(a, Expr) and isinstance(b, Expr)):
        return False
    try:
        if a.is_finite is not True or b.is_finite is not True:  # oo, -oo, zoo, nan
            return bool(a == b) and a.is_finite is False and a.is_extended_real is True
        d = a - b
        if d == 0:
            return True
        if d.is_Rational:
            return False
        v = d.evalf(30, maxn=400)
        if v.is_Number and v.is_finite:
            return bool(v == 0 or getattr(v, "_prec", 100) <= 1)
        re_part, im_part = v.as_real_imag()
        if re_part.is_Number and im_part.is_Number and re_part.is_finite and im_part.is_finite:
            return all(x == 0 or getattr(x, "_prec", 100) <= 1 for x in (re_part, im_part))
    except Exception:
        pass
    return False


def _difference_is_zero(a: Any, b: Any) -> bool:
    """``a - b`` vanishes identically: expansion, cancellation, then ``simplify``."""
    from sympy import cancel, expand, simplify

    d = a - b
    if d == 0:
        return True
    for step in (expand, cancel, simplify):
        try:
            d = step(d)
        except Exception:
            return False
        if d == 0:
            return True
    return False


def _relations_equal(pred: Any, gold: Any, backend: str) -> bool:
    """Two relations: the same kind, and sides whose differences are proportional."""
    from sympy import Eq, GreaterThan, LessThan, Ne, StrictGreaterThan, StrictLessThan, simplify
    from sympy.core.relational import Relational

    if backend == "math_verify":
        try:
            if _math_verify_equal(pred, gold):
                return True
        except Exception:
            pass
    if not (isinstance(pred, Relational) and isinstance(gold, Relational)):
        return False
    dp, dg = pred.lhs - pred.rhs, gold.lhs - gold.rhs
    same = type(pred) is type(gold)
    flipped = {type(pred), type(gold)} in ({StrictLessThan, StrictGreaterThan}, {LessThan, GreaterThan})
    if not (same or flipped):
        return False
    try:
        ratio = simplify(dp / dg)
    except Exception:
        return False
    if ratio.free_symbols or not ratio.is_number or ratio == 0:
        return False
    if isinstance(gold, (Eq, Ne)):
        return True
    return bool(ratio > 0) if same else bool(ratio < 0)


BACKENDS = ("math_verify", "sympy")


def sympy_objects_equal(pred: Any, gold: Any, backend: str = "math_verify") -> bool:
    """Compare two parsed sympy objects exactly.

    Constants compare by :func:`constants_equal` (exact, whatever their size); expressions
    with variables when their difference simplifies to 0; relations by :func:`_relations_equal`.

    Example:
        >>> from sympy import sqrt, Symbol
        >>> x = Symbol("x")
        >>> sympy_objects_equal(2 * sqrt(2), sqrt(8)), sympy_objects_equal((x + 1)**2, x**2 + 2*x + 1)
        (True, True)
    """
    if pred is None or gold is None:
        return False
    from sympy import Expr
    from sympy.core.relational import Relational

    if isinstance(pred, Relational) or isinstance(gold, Relational):
        return isinstance(pred, Relational) and isinstance(gold, Relational) and _relations_equal(pred, gold, backend)
    try:
        if pred == gold:
            return True
    except Exception:
        pass
    if not (isinstance(pred, Expr) and isinstance(gold, Expr)):
        return False
    if not pred.free_symbols and not gold.free_symbols:
        return constants_equal(pred, gold)
    return _difference_is_zero(pred, gold)


def symbolic_equal(pred: str, gold: str, backend: str = "math_verify") -> bool:
    """True when two normalized scalar answers are equal under sympy.

    Example:
        >>> symbolic_equal("x^2+2x+1", "(x+1)^2")
        True
    """
    return sympy_objects_equal(to_sympy(pred), to_sympy(gold), backend)
