"""Exact arithmetic on the values of simple answers: sums of ``q * sqrt(m) * i^a * pi^k``.

``q`` is a rational, ``m`` a squarefree positive integer, ``a`` 0 or 1, ``k`` an integer.
These terms are linearly independent over the rationals, so two values are equal exactly
when their term tables are equal: no float, no tolerance, for integers of any size,
factorials, powers, radicals, complex numbers and multiples of pi. What cannot be written
this way (``\\sqrt{1+\\sqrt{2}}``, ``2^{1/3}``, ``\\ln 2``) raises :class:`Inexact`.

:func:`evaluate` computes a tree of :mod:`.latex_expr`; variables take values from an
environment, which is how :func:`verifiers.equivalence` tests polynomial identities at
random rational points.

Example:
    >>> evaluate_text("2\\\\sqrt{2}") == evaluate_text("\\\\sqrt{8}")
    True
    >>> evaluate_text("20!") == evaluate_text("2432902008176640001")
    False
"""

from __future__ import annotations

import math
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Mapping

from .latex_expr import Unsupported, parse_expr

MAX_BITS = 200_000  # a rational with a longer numerator or denominator is refused
MAX_EXPONENT = 10_000
MAX_FACTORIAL = 3_000
MAX_FACTOR = 10**12  # largest radicand whose square part is found by trial division
_PI = Decimal("3.14159265358979323846264338327950288419716939937510582097494459230781640628620899863")

Key = tuple[int, int, int]  # (m squarefree, a in {0, 1}, k)


class Inexact(ValueError):
    """The value is outside what :class:`Exact` represents."""


class Exact:
    """A value ``sum(c * sqrt(m) * i^a * pi^k)``, kept as ``{(m, a, k): c}`` without zeros."""

    __slots__ = ("terms",)

    def __init__(self, terms: Mapping[Key, Fraction]) -> None:
        self.terms = {k: v for k, v in terms.items() if v}
        for v in self.terms.values():
            if v.numerator.bit_length() > MAX_BITS or v.denominator.bit_length() > MAX_BITS:
                raise Inexact("too large")

    @staticmethod
    def rational(q: Fraction | int) -> "Exact":
        return Exact({(1, 0, 0): Fraction(q)})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Exact) and self.terms == other.terms

    def __hash__(self) -> int:
        return hash(frozenset(self.terms.items()))

    def __repr__(self) -> str:
        return f"Exact({dict(sorted(self.terms.items()))})"

    def as_rational(self) -> Fraction | None:
        """The value when it is rational, else ``None``."""
        if not self.terms:
            return Fraction(0)
        if set(self.terms) == {(1, 0, 0)}:
            return self.terms[(1, 0, 0)]
        return None

    def __add__(self, other: "Exact") -> "Exact":
        out = dict(self.terms)
        for k, v in other.terms.items():
            out[k] = out.get(k, Fraction(0)) + v
        return Exact(out)

    def __neg__(self) -> "Exact":
        return Exact({k: -v for k, v in self.terms.items()})

    def __mul__(self, other: "Exact") -> "Exact":
        out: dict[Key, Fraction] = {}
        for (m1, a1, k1), c1 in self.terms.items():
            for (m2, a2, k2), c2 in other.terms.items():
                g = math.gcd(m1, m2)
                coef = c1 * c2 * g * (-1 if a1 and a2 else 1)
                key = ((m1 // g) * (m2 // g), (a1 + a2) % 2, k1 + k2)
                out[key] = out.get(key, Fraction(0)) + coef
        return Exact(out)

    def inverse(self) -> "Exact":
        terms = self.terms
        if not terms:
            raise ZeroDivisionError("division by zero")
        if len(terms) == 1:
            (m, a, k), c = next(iter(terms.items()))
            # 1/(c sqrt(m) i^a pi^k) = sqrt(m) (-i)^a pi^-k / (c m)
            return Exact({(m, a, -k): (-1 if a else 1) / (c * m)})
        keys = sorted(terms)
        if len(keys) == 2 and keys[0][2] == keys[1][2] and keys[0][:2] == (1, 0):
            # (x + y r) with r = sqrt(m) i^a: multiply by the conjugate (x - y r)
            k = keys[0][2]
            x, y = terms[keys[0]], terms[keys[1]]
            m, a = keys[1][0], keys[1][1]
            r2 = Fraction(m) * (-1 if a else 1)  # r^2
            norm = x * x - y * y * r2
            if norm == 0:
                raise Inexact("zero norm")
            return Exact({(1, 0, -k): x / norm, (m, a, -k): -y / norm})
        raise Inexact("division by a sum of radicals")

    def __truediv__(self, other: "Exact") -> "Exact":
        return self * other.inverse()

    def power(self, n: int) -> "Exact":
        if abs(n) > MAX_EXPONENT:
            raise Inexact("exponent too large")
        base = self if n >= 0 else self.inverse()
        n = abs(n)
        result = Exact.rational(1)
        while n:
            if n & 1:
                result = result * base
            n >>= 1
            if n:
                base = base * base
        return result

    def root(self, degree: int) -> "Exact":
        """The principal ``degree``-th root, when it stays in this representation."""
        if degree < 1:
            raise Inexact("root degree")
        q = self.as_rational()
        if q is None:
            if len(self.terms) == 1 and degree == 2:
                (m, a, k), c = next(iter(self.terms.items()))
                if m == 1 and a == 0 and k % 2 == 0:
                    return Exact({(1, 0, k // 2): Fraction(1)}) * _sqrt_rational(c)
            raise Inexact("root of an irrational")
        if degree == 2:
            return _sqrt_rational(q)
        return Exact.rational(_nth_root_rational(q, degree))

    def to_decimal(self, digits: int = 60) -> tuple[Decimal, Decimal]:
        """``(real, imaginary)`` parts to about ``digits`` significant digits.

        Example:
            >>> evaluate_text("\\\\sqrt{2}").to_decimal(10)[0]
            Decimal('1.414213562')
        """
        with localcontext() as ctx:
            ctx.prec = digits
            re_part, im_part = Decimal(0), Decimal(0)
            for (m, a, k), c in self.terms.items():
                v = Decimal(c.numerator) / Decimal(c.denominator) * Decimal(m).sqrt() * _PI**k
                if a:
                    im_part += v
                else:
                    re_part += v
            return +re_part, +im_part


def _square_part(n: int) -> tuple[int, int]:
    """``(s, m)`` with ``n = s^2 * m`` and ``m`` squarefree (``n > 0``).

    Example:
        >>> _square_part(72)
        (6, 2)
    """
    r = math.isqrt(n)
    if r * r == n:
        return r, 1
    if n > MAX_FACTOR:
        raise Inexact("radicand too large to factor")
    s, m, p = 1, 1, 2
    while p * p <= n:
        e = 0
        while n % p == 0:
            n //= p
            e += 1
        s *= p ** (e // 2)
        if e % 2:
            m *= p
        p += 1 if p == 2 else 2
    return s, m * n


def _sqrt_rational(q: Fraction) -> Exact:
    if q == 0:
        return Exact({})
    a = 1 if q < 0 else 0
    q = abs(q)
    # sqrt(n/d) = sqrt(n d) / d
    s, m = _square_part(q.numerator * q.denominator)
    return Exact({(m, a, 0): Fraction(s, q.denominator)})


def _nth_root_rational(q: Fraction, n: int) -> Fraction:
    if q < 0:
        if n % 2 == 0:
            raise Inexact("even root of a negative number")
        return -_nth_root_rational(-q, n)
    out = []
    for part in (q.numerator, q.denominator):
        r = round(part ** (1.0 / n)) if part.bit_length() < 1000 else None
        if r is None:
            raise Inexact("root of a large number")
        for cand in (r - 1, r, r + 1):
            if cand >= 0 and cand**n == part:
                out.append(cand)
                break
        else:
            raise Inexact("not a perfect power")
    return Fraction(out[0], out[1])


def _as_int(v: Exact, what: str) -> int:
    q = v.as_rational()
    if q is None or q.denominator != 1:
        raise Inexact(f"{what} is not an integer")
    return int(q)


def evaluate(node: tuple, env: Mapping[str, Exact] | None = None) -> Exact:
    """The exact value of a :mod:`.latex_expr` tree; raises :class:`Inexact` or ``ZeroDivisionError``.

    Example:
        >>> evaluate(parse_expr("x^2 + 1"), {"x": Exact.rational(3)}).as_rational()
        Fraction(10, 1)
    """
    op = node[0]
    if op == "num":
        return Exact.rational(node[1])
    if op == "var":
        if env is None or node[1] not in env:
            raise Inexact(f"variable {node[1]}")
        return env[node[1]]
    if op == "const":
        return Exact({(1, 0, 1): Fraction(1)}) if node[1] == "pi" else Exact({(1, 1, 0): Fraction(1)})
    if op == "sum":
        total = Exact({})
        for child in node[1]:
            total = total + evaluate(child, env)
        return total
    if op == "neg":
        return -evaluate(node[1], env)
    if op == "prod":
        product = Exact.rational(1)
        for child in node[1]:
            product = product * evaluate(child, env)
        return product
    if op == "div":
        return evaluate(node[1], env) / evaluate(node[2], env)
    if op == "pow":
        base = evaluate(node[1], env)
        exp = evaluate(node[2], env).as_rational()
        if exp is None:
            raise Inexact("irrational exponent")
        if exp.denominator == 1:
            return base.power(int(exp))
        return base.root(exp.denominator).power(exp.numerator)
    if op == "root":
        return evaluate(node[1], env).root(_as_int(evaluate(node[2], env), "root degree"))
    if op == "fact":
        n = _as_int(evaluate(node[1], env), "factorial argument")
        if not 0 <= n <= MAX_FACTORIAL:
            raise Inexact("factorial out of range")
        return Exact.rational(math.factorial(n))
    if op == "binom":
        n, k = _as_int(evaluate(node[1], env), "binomial"), _as_int(evaluate(node[2], env), "binomial")
        if not (0 <= n <= MAX_FACTORIAL and 0 <= k):
            raise Inexact("binomial out of range")
        return Exact.rational(math.comb(n, k))
    raise Inexact(f"node {op}")


def evaluate_text(s: str, env: Mapping[str, Exact] | None = None) -> Exact:
    """:func:`evaluate` of a normalized answer string; raises :class:`Inexact` or
    :class:`~verifiers.latex_expr.Unsupported` (both ``ValueError``).

    Example:
        >>> evaluate_text("\\\\frac{1}{1+\\\\sqrt{2}}") == evaluate_text("\\\\sqrt{2}-1")
        True
    """
    try:
        return evaluate(parse_expr(s), env)
    except (Unsupported, Inexact):
        raise
    except (ZeroDivisionError, OverflowError, RecursionError) as e:
        raise Inexact(type(e).__name__) from e
