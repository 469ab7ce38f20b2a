"""Exact numbers from normalized answers, compared without sympy (the fast path).

Integers, decimals, scientific notation, ``a/b``, ``\\frac{a}{b}``, mixed numbers and
percentages become a :class:`Number` holding an exact :class:`fractions.Fraction`.
Comparison is exact; only decimal-vs-decimal allows a tight relative tolerance
(:data:`DECIMAL_REL_TOL`), so ``0.333`` is not ``1/3`` and ``3.14`` is not ``\\pi``.

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
from fractions import Fraction

DECIMAL_REL_TOL = Fraction(1, 10**9)
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


def _close(a: Fraction, b: Fraction, both_decimal: bool) -> bool:
    if a == b:
        return True
    if not both_decimal:
        return False
    return abs(a - b) <= DECIMAL_REL_TOL * max(abs(a), abs(b))


def numbers_equal(a: Number | None, b: Number | None) -> bool:
    """Exact equality; percent on one side matches ``v`` or ``v/100`` on the other.

    Example:
        >>> numbers_equal(parse_number("50"), parse_number("50%"))
        True
        >>> numbers_equal(parse_number("3.14"), parse_number("3.141"))
        False
    """
    if a is None or b is None:
        return False
    both_dec = a.decimal and b.decimal
    if a.percent == b.percent:
        return _close(a.value, b.value, both_dec)
    pct, plain = (a, b) if a.percent else (b, a)
    return _close(pct.value, plain.value, both_dec) or _close(pct.value / 100, plain.value, both_dec)
