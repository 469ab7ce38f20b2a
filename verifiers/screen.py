"""Cheap pre-screen of answer strings before any sympy work.

Rejects what would make sympy hang or eat memory: over-long strings, deep nesting,
numeric power towers whose value has more than :data:`MAX_RESULT_DIGITS` digits
(``9^{9^{9^9}}``, ``10**10**10``), huge exponents, huge factorials, and powers of sums
whose expansion has more than :data:`MAX_EXPANSION_TERMS` terms (``(x+y+z+w)^{40}``).
Linear work in the length (capped at :data:`MAX_CHARS`), no recursion deeper than
:data:`MAX_DEPTH`; well under a millisecond for a typical answer.

Example:
    >>> screen("9^{9^{9^9}}")
    'huge power'
    >>> screen("2^{10} + \\\\frac{1}{2}") is None
    True
"""

from __future__ import annotations

import math
import re

MAX_CHARS = 2_000
MAX_DEPTH = 60
MAX_RESULT_DIGITS = 20_000  # log10 of the largest power we let sympy evaluate
MAX_SYMBOLIC_EXPONENT = 10**6
MAX_FACTORIAL = 3_000
MAX_POWERS = 40  # more power/factorial operators than this is not a final answer
MAX_EXPANSION_TERMS = 5_000  # terms of a multinomial expansion (x+y+z+w)^40 has 12,341

_NUMBER_RE = re.compile(r"\d+(?:\.\d+)?")
_BAD_CHAR_RE = re.compile("[\ud800-\udfff\ufffd]")  # lone surrogates, replacement characters
_ATOM_RE = re.compile(r"\d+(?:\.\d+)?|\\[A-Za-z]+|[A-Za-z]")
_SYMBOLIC_RE = re.compile(r"\\(?!frac|cdot|times|left|right|dfrac)[A-Za-z]+|[A-Za-z]")


def nesting_depth(s: str) -> int:
    """Deepest bracket nesting of ``s``.

    Example:
        >>> nesting_depth("((a)[{b}])")
        3
    """
    depth = best = 0
    for c in s:
        if c in "({[":
            depth += 1
            if depth > best:
                best = depth
        elif c in ")}]":
            depth -= 1
    return best


def _close_after(s: str, i: int) -> int:
    depth = 0
    for j in range(i, len(s)):
        if s[j] in "({[":
            depth += 1
        elif s[j] in ")}]":
            depth -= 1
            if depth == 0:
                return j
    return len(s) - 1


def _open_before(s: str, i: int) -> int:
    depth = 0
    for j in range(i, -1, -1):
        if s[j] in ")}]":
            depth += 1
        elif s[j] in "({[":
            depth -= 1
            if depth == 0:
                return j
    return 0


def _atom_after(s: str, i: int) -> tuple[str, int]:
    """The operand starting at ``s[i]`` (skipping spaces and a sign) and its end index."""
    n = len(s)
    while i < n and s[i] in " -+":
        i += 1
    if i >= n:
        return "", n
    if s[i] in "({[":
        j = _close_after(s, i)
        return s[i + 1 : j], j + 1
    m = _ATOM_RE.match(s, i)
    if m:
        return m.group(0), m.end()
    return "", i + 1


def _pow_op_at(s: str, i: int) -> int:
    """Length of a power operator at ``s[i]`` (``^`` or ``**``), else 0."""
    if s.startswith("**", i):
        return 2
    return 1 if i < len(s) and s[i] == "^" else 0


def _exponent_after(s: str, i: int) -> str:
    """The exponent text after a power operator ending at ``i``, right-associative."""
    atom, j = _atom_after(s, i)
    parts = [atom]
    while True:
        k = j
        while k < len(s) and s[k] == " ":
            k += 1
        op = _pow_op_at(s, k)
        if not op:
            return "^".join(parts) if len(parts) > 1 else parts[0]
        atom, j = _atom_after(s, k + op)
        parts.append("{" + atom + "}")


def _operand_before(s: str, i: int) -> str:
    """The operand that ends just before ``s[i]``."""
    j = i - 1
    while j >= 0 and s[j] == " ":
        j -= 1
    if j < 0:
        return ""
    if s[j] in ")}]":
        k = _open_before(s, j)
        return s[k + 1 : j]
    k = j
    while k >= 0 and (s[k].isdigit() or s[k] == "."):
        k -= 1
    if k == j:  # a letter or command: symbolic
        return s[j]
    return s[k + 1 : j + 1]


def log10_magnitude(expr: str, _depth: int = 0) -> float | None:
    """Upper estimate of ``log10(|value|)`` of a numeric expression, ``None`` if symbolic.

    Example:
        >>> log10_magnitude("10^{10}")
        10.0
        >>> log10_magnitude("x+1") is None
        True
    """
    s = expr.strip()
    if _depth > MAX_DEPTH:
        return math.inf
    while len(s) >= 2 and s[0] in "({" and _close_after(s, 0) == len(s) - 1:
        s = s[1:-1].strip()
    if not s:
        return 0.0
    if _SYMBOLIC_RE.search(s.replace("\\frac", "").replace("\\cdot", "").replace("\\times", "")):
        return None
    i = 0
    depth = 0
    while i < len(s):  # first top-level power operator: base ^ (rest, right-assoc)
        c = s[i]
        if c in "({[":
            depth += 1
        elif c in ")}]":
            depth -= 1
        elif depth == 0 and _pow_op_at(s, i):
            base = _operand_before(s, i)
            exp = _exponent_after(s, i + _pow_op_at(s, i))
            lb = log10_magnitude(base, _depth + 1)
            le = log10_magnitude(exp, _depth + 1)
            if lb is None or le is None:
                return None
            if le > 300:
                return math.inf
            return abs(lb) * (10.0**le)
        i += 1
    total = 0.0
    for num in _NUMBER_RE.findall(s):
        v = float(num) if len(num) < 300 else 1e300
        total += abs(math.log10(v)) if v > 0 else 0.0
    return total


def _top_level_terms(s: str) -> int:
    """Number of terms of ``s`` joined by top-level ``+``/``-`` (a leading sign starts no term).

    Example:
        >>> _top_level_terms("x+y-(z+w)"), _top_level_terms("-x^{2}")
        (3, 1)
    """
    depth, terms, prev = 0, 1, ""
    for c in s:
        if c in "({[":
            depth += 1
        elif c in ")}]":
            depth -= 1
        elif c in "+-" and depth == 0 and prev not in ("", "^", "*", "/", "+", "-", "e", "E"):
            terms += 1
        if not c.isspace():
            prev = c
    return terms


def _expansion_terms(base: str, exponent: float) -> float:
    """Terms of ``(base)^exponent`` written out: ``C(n + t - 1, t - 1)`` for ``t`` terms."""
    t = _top_level_terms(base)
    n = int(exponent)
    if t < 2 or n < 2:
        return 1.0
    return float(math.comb(n + t - 1, t - 1)) if n < 10**6 else math.inf


def _huge_power(s: str) -> str | None:
    for i in range(len(s)):
        op = _pow_op_at(s, i)
        if not op or (op == 1 and i > 0 and s[i - 1] == "*"):
            continue
        base = _operand_before(s, i)
        exp = _exponent_after(s, i + op)
        le = log10_magnitude(exp)
        if le is None:
            continue
        if le > 300:
            return "huge power"
        exp_value = 10.0**le
        lb = log10_magnitude(base) if base else 0.0
        if lb is None:
            if exp_value > MAX_SYMBOLIC_EXPONENT:
                return "huge power"
            if _expansion_terms(base, exp_value) > MAX_EXPANSION_TERMS:
                return "huge expansion"
            continue
        if abs(lb) * exp_value > MAX_RESULT_DIGITS:
            return "huge power"
    return None


def _huge_factorial(s: str) -> bool:
    for i, c in enumerate(s):
        if c == "!" and not s.startswith("!=", i) and (i == 0 or s[i - 1] != "\\"):
            le = log10_magnitude(_operand_before(s, i))
            if le is not None and le > math.log10(MAX_FACTORIAL):
                return True
    return False


def screen(s: str) -> str | None:
    """Why ``s`` is unsafe to hand to sympy, or ``None`` when it is fine.

    Example:
        >>> screen("10**10**10"), screen("(" * 200 + ")" * 200), screen("(x+y+z+w)^{40}")
        ('huge power', 'too deeply nested', 'huge expansion')
    """
    if not isinstance(s, str):
        return "not a string"
    if len(s) > MAX_CHARS:
        return "too long"
    if _BAD_CHAR_RE.search(s):
        return "invalid character"
    if nesting_depth(s) > MAX_DEPTH:
        return "too deeply nested"
    if s.count("^") + s.count("**") > MAX_POWERS or s.count("!") > MAX_POWERS:
        return "too many powers"
    try:
        power = _huge_power(s) if ("^" in s or "**" in s) else None
        if power is not None:
            return power
        if "!" in s and _huge_factorial(s):
            return "huge factorial"
    except (RecursionError, OverflowError, ValueError):
        return "unanalysable"
    return None
