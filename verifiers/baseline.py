"""math-verify called alone, the way its README shows: the baseline we measure against.

``parse`` + ``verify`` on the raw strings (a gold without any math delimiter is put in
``$...$``, as math-verify's parser needs), with math-verify's signal-based timeouts off
(``parsing_timeout=None``, ``timeout_seconds=None``): it runs inside our worker
processes, whose hard kill is the time limit. Note that math-verify's plain-expression
extraction hands number/operator strings to sympy's ``parse_expr``; that is one reason
our own pipeline only gives it LaTeX (via latex2sympy), never raw model text.

Example (inside a worker, or anywhere a hang is acceptable):
    >>> math_verify_alone("The answer is $\\\\frac{1}{2}$", "0.5")
    True
"""

from __future__ import annotations

import logging


def math_verify_alone(pred: object, gold: object, wrap: bool = False) -> bool:
    """``verify(parse(gold), parse(pred))``; ``wrap`` puts both in ``$...$`` first."""
    if not isinstance(pred, str) or not isinstance(gold, str):
        return False
    from math_verify import parse, verify

    logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    if wrap:
        pred, gold = f"${pred}$", f"${gold}$"
    elif not any(d in gold for d in ("$", "\\boxed", "\\(", "\\[")):
        gold = f"${gold}$"  # a bare LaTeX gold (MATH's answer field): its parser needs delimiters
    g = parse(gold, parsing_timeout=None)
    p = parse(pred, parsing_timeout=None)
    return bool(verify(g, p, timeout_seconds=None))
