"""Find a false arithmetic equation, such as ``47 / 2 = 23``, in a solution text.

A Monte Carlo continuation that reaches the gold answer through a false equation is a lucky
one, not evidence that its prefix was right: after ``31 + 15 = 47`` a policy that writes
``47 / 2 = 23`` lands back on the gold chain because the wrong value was floored away. The
labeler can reject such continuations (``LabelConfig.check_arithmetic``).

Only plain numeric equations are judged: numbers joined by ``+ - * / × ÷`` (or `` x `` between
spaces), optional parentheses, ``=`` and one number. An equation is false when its right side
differs from the exact value of its left side, allowing for rounding to the digits written
(``7 / 3 = 2.33`` is true). Anything ambiguous is skipped, never judged false: a left side
glued to a variable or preceded by an operator (``x - 3 + 5 = 2``), a right side followed by
more arithmetic (``3 + 4 = 7 * 2``), percentages, or numbers too long to be arithmetic.

>>> false_equation("47 / 2 = 23\\n23 * 4 = 92. The answer is 92")
'47 / 2 = 23'
>>> false_equation("31 + 15 = 46\\n46 / 2 = 23. The answer is 23") is None
True
>>> false_equation("so 7/3 = 2.33 each, and (2 + 3) * 4 = 21")
'(2 + 3) * 4 = 21'
"""
from __future__ import annotations

import ast
import re
from fractions import Fraction

_NUMBER = r"\d{1,15}(?:\.\d{1,12})?"
_OPERATOR = r"(?:[-+*/×÷]|(?<=[ \t])x(?=[ \t]))"
# Every run of spaces has exactly one place to go, and the quantifiers are possessive, so a long
# chain of terms with no "=" (a degenerate continuation) fails in linear time.
_TERM = rf"(?:\([ \t]*+)?{_NUMBER}(?:[ \t]*+\))?"
_EQUATION = re.compile(rf"(?P<lhs>{_TERM}(?:[ \t]*+{_OPERATOR}[ \t]*+{_TERM})++)[ \t]*+=[ \t]*+(?P<rhs>-?{_NUMBER})")
_OPERATOR_CHARS = "+-*/×÷^"
_MAX_LHS_CHARS = 200


def _exact_value(expression: str) -> Fraction:
    """Exact value of a numeric expression with ``+ - * /`` and parentheses.

    >>> _exact_value("(2 + 3) × 4 ÷ 8")
    Fraction(5, 2)
    """
    expression = re.sub(r"(?<=[ \t])x(?=[ \t])", "*", expression.replace("×", "*").replace("÷", "/"))
    return _evaluate(ast.parse(expression.strip(), mode="eval").body)


def _evaluate(node) -> Fraction:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return Fraction(str(node.value))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_evaluate(node.operand)
    if isinstance(node, ast.BinOp):
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        if isinstance(node.op, ast.Mult):
            return left * right
        if isinstance(node.op, ast.Div):
            return left / right  # ZeroDivisionError: the caller skips the equation
    raise ValueError(f"not plain arithmetic: {ast.dump(node)}")


def _is_ambiguous(text: str, start: int, end: int) -> bool:
    glued = text[start - 1] if start else ""
    if glued and (glued.isalnum() or glued in ".,)_"):
        return True
    before = text[:start].rstrip(" \t")
    if before and before[-1] in _OPERATOR_CHARS:
        return True
    after = text[end:].lstrip(" \t")
    return bool(after) and (after[0] in _OPERATOR_CHARS + "%(" or after[0].isdigit())


def _matches_written(value: Fraction, written: str) -> bool:
    decimals = len(written.split(".")[1]) if "." in written else 0
    if value == Fraction(written):
        return True
    return decimals > 0 and abs(value - Fraction(written)) <= Fraction(1, 2 * 10 ** decimals)


def false_equation(text: str) -> str | None:
    """The first plain numeric equation in ``text`` whose right side is wrong, else None.

    >>> false_equation("5 x 3 = 16 apples")
    '5 x 3 = 16'
    >>> [false_equation(t) for t in ("x - 3 + 5 = 2", "3 + 4 = 7 * 2", "10 / 4 = 2.5", "1 / 0 = 3")]
    [None, None, None, None]
    """
    for match in _EQUATION.finditer(text):
        lhs, rhs = match.group("lhs"), match.group("rhs")
        if len(lhs) > _MAX_LHS_CHARS or _is_ambiguous(text, match.start(), match.end()):
            continue
        try:
            value = _exact_value(lhs)
        except (SyntaxError, ValueError, ZeroDivisionError, RecursionError):
            continue
        if not _matches_written(value, rhs):
            return match.group(0).strip()
    return None
