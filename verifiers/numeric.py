"""Exact numbers from normalized answers, compared without sympy (the fast path).

Integers, decimals, scientific notation, ``a/b``, ``\\frac{a}{b}``, mixed numbers and
percentages become a :class:`Number` holding an exact :class:`fractions.Fraction`.
Comparison is exact, for integers of any size too: ``0.333`` is not ``1/3``, and
``2.50`` is ``2.5``. The one tolerance of the verifier lives in :func:`rounds_to`: a gold
written as a decimal is taken as an approximation at its written precision.

Example:
    >>> numbers_equal(parse_number("0.5"), parse_number("\\\\frac{1}{2}"))
    True
    >>> numbers_equal(parse_number("50%"), parse_number("0.5"))
    True
    >>> numbers_equal(parse_number("0.333"), parse_number("1/3"))
    False
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

_PLAIN_DECIMAL_RE = re.compile(r"^-?\d*\.(\d+)$")
MAX_DIGITS = 400  # longer literals are left to the slow path (or rejected by the screen)

_NUM = r"(?:\d+\.?\d*|\.\d+)"
_PLAIN_RE = re.compile(rf"^([-+]?)({_NUM})(?:[eE]([-+]?\d{{1,3}}))?$")
_SCI_RE = re.compile(rf"^([-+]?)({_NUM})\s*(?:\\times|\\cdot|\*|x)\s*10\s*\^\s*\{{?\s*([-+]?\d{{1,3}})\s*\}}?$")
_SLASH_RE = re.compile(rf"^([-+]?)({_NUM})\s*/\s*([-+]?)({_NUM})$")
_FRAC_RE = re.compile(
    rf"^([-+]?)\\frac\s*(?:\{{\s*([-+]?)\s*({_NUM})\s*\}}|(\d))\s*(?:\{{\s*([-+]?)\s*({_NUM})\s*\}}|(\d))$"
)
_MIXED_RE = re.compile(r"^([-+]?)(\d+)(?:\s+(\d+)\s*/\s*(\d+)|\s*\\frac\s*\{\s*(\d+)\s*\}\s*\{\s*(\d+)\s*\})$")


@dataclass(frozen=True)
class Number:
    """An exact number read from an answer string.

    Example:
        >>> parse_number("-1.5e2")
        Number(value=Fraction(-150, 1), percent=False, decimal=True)
    """

    value: Fraction
    percent: bool = False
    decimal: bool = False


def _lit(text: str) -> Fraction:
    return Fraction(text)


def _signed(sign: str, value: Fraction) -> Fraction:
    return -value if sign == "-" else value


def parse_number(s: str) -> Number | None:
    """A :class:`Number` when ``s`` is a plain numeric literal, else ``None``.

    Example:
        >>> parse_number("1 2/3").value, parse_number("x") is None
        (Fraction(5, 3), True)
    """
    if not isinstance(s, str):
        return None
    s = s.strip()
    if not s or len(s) > MAX_DIGITS:
        return None
    percent = s.endswith("%")
    if percent:
        s = s[:-1].rstrip()
    if s.startswith("(") and s.endswith(")") and "(" not in s[1:-1] and "," not in s:
        s = s[1:-1].strip()
    try:
        m = _PLAIN_RE.match(s)
        if m:
            v = _lit(m.group(2))
            if m.group(3):
                v *= Fraction(10) ** int(m.group(3))
            dec = "." in m.group(2) or bool(m.group(3))
            return Number(_signed(m.group(1), v), percent, dec)
        m = _SCI_RE.match(s)
        if m:
            v = _lit(m.group(2)) * Fraction(10) ** int(m.group(3))
            return Number(_signed(m.group(1), v), percent, True)
        m = _SLASH_RE.match(s)
        if m:
            den = _signed(m.group(3), _lit(m.group(4)))
            if den == 0:
                return None
            return Number(_signed(m.group(1), _lit(m.group(2)) / den), percent, False)
        m = _FRAC_RE.match(s)
        if m:
            num = _signed(m.group(2) or "", _lit(m.group(3) or m.group(4)))
            den = _signed(m.group(5) or "", _lit(m.group(6) or m.group(7)))
            if den == 0:
                return None
            return Number(_signed(m.group(1), num / den), percent, False)
        m = _MIXED_RE.match(s)
        if m:
            a, b = int(m.group(3) or m.group(5)), int(m.group(4) or m.group(6))
            if b == 0 or a >= b:
                return None
            return Number(_signed(m.group(1), int(m.group(2)) + Fraction(a, b)), percent, False)
    except (ValueError, ZeroDivisionError, OverflowError):
        return None
    return None


def decimal_places(s: str) -> int | None:
    """Digits after the point of a plain decimal literal (``"2.50"`` -> 2), else ``None``.

    Example:
        >>> decimal_places("-0.125"), decimal_places("3"), decimal_places("1.5e3")
        (3, None, None)
    """
    m = _PLAIN_DECIMAL_RE.match(s.strip())
    return len(m.group(1)) if m else None


def rounds_to(value: Decimal, gold: str) -> bool:
    """True when ``value`` rounded half-up at the precision written in the decimal ``gold`` is ``gold``.

    Example:
        >>> rounds_to(Decimal("0.33333"), "0.33"), rounds_to(Decimal("0.335"), "0.33")
        (True, False)
    """
    places = decimal_places(gold)
    if places is None:
        return False
    quantum = Decimal(1).scaleb(-places)
    return value.quantize(quantum, rounding=ROUND_HALF_UP) == Decimal(gold.strip())


def numbers_equal(a: Number | None, b: Number | None) -> bool:
    """Exact equality; percent on one side matches ``v`` or ``v/100`` on the other.

    Example:
        >>> numbers_equal(parse_number("50"), parse_number("50%"))
        True
        >>> numbers_equal(parse_number("3.14"), parse_number("3.1400000001"))
        False
    """
    if a is None or b is None:
        return False
    if a.percent == b.percent:
        return a.value == b.value
    pct, plain = (a, b) if a.percent else (b, a)
    return pct.value == plain.value or pct.value / 100 == plain.value
