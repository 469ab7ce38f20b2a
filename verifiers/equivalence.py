"""Equivalence of two extracted answers: one comparison, two scalar back ends.

:func:`compare` normalizes both answers, splits them into structures (tuples, intervals,
sets, lists, unions, matrices, ratios; inequalities become intervals) and compares their
elements with a *scalar* check that answers True, False or None (cannot tell):

* :func:`quick_decide` uses :func:`~verifiers.scalar.scalar_fast`, pure Python without sympy: exact numbers,
  exact values of radicals, powers, factorials, ``\\pi`` and ``i`` (:mod:`.exact`), and
  polynomial identities tested at random rational points. It returns None when the pair
  needs sympy; the public API then sends it to a worker process.
* :func:`check_equivalence` falls back to :mod:`.symbolic` (sympy) where the fast check
  cannot tell. It has **no time limit**: call it inside a worker (see :mod:`.pool`).

Example:
    >>> quick_decide("1,000", "1000"), quick_decide("2\\\\sqrt{2}", "\\\\sqrt{8}")
    (True, True)
    >>> quick_decide("\\\\sin^2 x + \\\\cos^2 x", "1") is None
    True
    >>> check_equivalence("\\\\sin^2 x + \\\\cos^2 x", "1")
    True
"""

from __future__ import annotations

import re
from typing import Callable

from .normalize import compact, is_name, normalize_answer, split_top
from .relations import as_intervals
from .scalar import RELATION_RE as _RELATION_RE
from .scalar import scalar_fast
from .screen import MAX_CHARS, screen
from .structure import Structure, parse_structure

Scalar = Callable[[str, str], "bool | None"]

_MC_GOLD_RE = re.compile(r"^\(?([A-J])\)?$")
_MC_PRED_RE = re.compile(r"^(?:\(([A-J])\)|([A-J])[.):]?)(?:\s.*)?$|^\(?([a-j])\)?$", re.S)
_WORD_RE = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{3,}(?![A-Za-z])")
_MATH_WORDS = frozenset(
    "sin cos tan sec csc cot arcsin arccos arctan sinh cosh tanh log ln exp sqrt frac pi "
    "infty det max min gcd lcm mod deg arg lim cdot times".split()
)
_ENV_RE = re.compile(r"\\(?:begin|end|operatorname|mathbb|mathcal|mathfrak)\s*\{[^{}]*\}")
_BASE_NUMBER_RE = re.compile(r"^[0-9A-Za-z]+_\{?\d+\}?$")  # 2516_8: a numeral in base 8, compared as written
MAX_ELEMENTS = 64
MAX_DEPTH = 8
_UNDECIDED = object()


def mc_letter(gold: str) -> str | None:
    """The choice letter when the gold answer is a multiple-choice letter.

    Example:
        >>> mc_letter("(C)"), mc_letter("C_1")
        ('C', None)
    """
    m = _MC_GOLD_RE.match(gold.strip())
    return m.group(1) if m else None


def _pred_letter(pred: str) -> str | None:
    m = _MC_PRED_RE.match(pred.strip())
    if not m:
        return None
    return (m.group(1) or m.group(2) or m.group(3) or "").upper() or None


def is_wordy(s: str) -> bool:
    """True when ``s`` holds an English word, so it is compared as text, not math.

    Example:
        >>> is_wordy("Monday"), is_wordy("\\\\sqrt{2}\\\\pi")
        (True, False)
    """
    s = _ENV_RE.sub(" ", s)
    return any(w.lower() not in _MATH_WORDS for w in _WORD_RE.findall(s))


def _text_key(s: str) -> str:
    return compact(s).casefold().strip(".")


# ---------------------------------------------------------------------------------------
# scalar checks


def _scalar_full(p: str, g: str, backend: str) -> bool:
    fast = scalar_fast(p, g)
    if fast is not None:
        return fast
    from .symbolic import symbolic_equal

    return symbolic_equal(p, g, backend)


# ---------------------------------------------------------------------------------------
# structures


def _and(results: list[bool | None]) -> bool | None:
    if any(r is False for r in results):
        return False
    return None if any(r is None for r in results) else True


def _split_name(item: str) -> tuple[str | None, str]:
    parts = split_top(item, "=")
    if len(parts) == 2 and parts[1].strip() and is_name(parts[0]):
        return compact(parts[0]), parts[1].strip()
    return None, item


def _match_unordered(ps: list[str], gs: list[str], scalar: Scalar, depth: int) -> bool | None:
    if len(ps) != len(gs) or len(gs) > MAX_ELEMENTS:
        return False
    unused = list(ps)
    undecided = False
    for g in gs:
        for k, p in enumerate(unused):
            r = _compare_strings(p, g, scalar, depth + 1)
            if r:
                del unused[k]
                break
            undecided = undecided or r is None
        else:
            return None if undecided else False
    return True


def _match_lists(sp: Structure, sg: Structure, scalar: Scalar, depth: int) -> bool | None:
    """Lists and sets: unordered, except named values (``a=2, b=3``) that pair up by name."""
    pn, gn = [_split_name(x) for x in sp.items], [_split_name(x) for x in sg.items]
    p_names, g_names = [n for n, _ in pn], [n for n, _ in gn]
    p_distinct = None not in p_names and len(set(p_names)) == len(p_names)
    g_distinct = None not in g_names and len(set(g_names)) == len(g_names)
    if len(pn) != len(gn):
        return False
    if p_distinct and g_distinct:
        if set(p_names) != set(g_names):
            return False
        by_name = dict(pn)
        return _and([_compare_strings(by_name[n], v, scalar, depth + 1) for n, v in gn])
    if (p_distinct and all(n is None for n in g_names)) or (g_distinct and all(n is None for n in p_names)):
        return _and([_compare_strings(a, b, scalar, depth + 1) for (_, a), (_, b) in zip(pn, gn)])
    return _match_unordered([v for _, v in pn], [v for _, v in gn], scalar, depth)


def _equal_structures(sp: Structure, sg: Structure, scalar: Scalar, depth: int) -> object:
    """True, False, None (undecided) or ``_UNDECIDED`` when the two kinds do not compare."""
    kinds = {sp.kind, sg.kind}
    if kinds <= {"set", "list"}:
        return _match_lists(sp, sg, scalar, depth)
    if sp.kind != sg.kind:
        return _UNDECIDED
    if sg.kind in ("ordered", "ratio"):
        if sp.brackets != sg.brackets or len(sp.items) != len(sg.items):
            return False
        return _and([_compare_strings(a, b, scalar, depth + 1) for a, b in zip(sp.items, sg.items)])
    if sg.kind == "union":
        return _match_unordered(list(sp.items), list(sg.items), scalar, depth)
    if sg.kind == "matrix":
        if len(sp.items) != len(sg.items) or any(len(a) != len(b) for a, b in zip(sp.items, sg.items)):
            return False
        return _and([_compare_strings(a, b, scalar, depth + 1)
                     for ra, rb in zip(sp.items, sg.items) for a, b in zip(ra, rb)])
    return _UNDECIDED


def _intervals_of(p: str, g: str) -> tuple[str, str]:
    """Rewrite one-variable inequalities as intervals where the other side is one too."""
    ip, ig = as_intervals(p), as_intervals(g)
    if ip and ig:
        return (ip[1], ig[1]) if ip[0] == ig[0] else (p, g)
    if ip and parse_structure(g).kind in ("ordered", "union"):
        return ip[1], g
    if ig and parse_structure(p).kind in ("ordered", "union"):
        return p, ig[1]
    return p, g


def _compare_normalized(p: str, g: str, scalar: Scalar, depth: int) -> bool | None:
    if depth > MAX_DEPTH:
        return False
    p, g = _intervals_of(p, g)
    if compact(p) == compact(g):
        return True
    sp, sg = parse_structure(p), parse_structure(g)
    if sp.kind == "scalar" and sg.kind == "scalar":
        return scalar(p, g)
    decided = _equal_structures(sp, sg, scalar, depth)
    if decided is not _UNDECIDED:
        return decided  # type: ignore[return-value]
    matrix_expr = "matrix" in (sp.kind, sg.kind) and "\\begin" in (p if sp.kind != "matrix" else g)
    if _RELATION_RE.search(p) or _RELATION_RE.search(g) or matrix_expr:
        return scalar(p, g)
    return False


def _compare_strings(pred: str, gold: str, scalar: Scalar, depth: int) -> bool | None:
    p, g = normalize_answer(pred), normalize_answer(gold)
    if not p or not g:
        return False
    if compact(p) == compact(g):
        return True
    if is_wordy(p) or is_wordy(g):
        return _text_key(p) == _text_key(g)
    if _BASE_NUMBER_RE.match(p) or _BASE_NUMBER_RE.match(g):
        return compact(p).replace("{", "").replace("}", "") == compact(g).replace("{", "").replace("}", "")
    if screen(p) is not None or screen(g) is not None:
        return False
    return _compare_normalized(p, g, scalar, depth)


def compare(pred: str, gold: str, scalar: Scalar) -> bool | None:
    """Compare two extracted answers with the given scalar check (see module doc).

    Example:
        >>> compare("(p,q)=(3,2)", "(3, 2)", scalar_fast), compare("\\\\pm 3", "\\\\{3,-3\\\\}", scalar_fast)
        (True, True)
    """
    if not isinstance(pred, str) or not isinstance(gold, str):
        return False
    if len(pred) > MAX_CHARS or len(gold) > MAX_CHARS:
        return pred.strip() == gold.strip() and bool(gold.strip())
    g = normalize_answer(gold)
    letter = mc_letter(g) if g else None
    if letter is not None:
        return _pred_letter(normalize_answer(pred)) == letter
    return _compare_strings(pred, gold, scalar, 0)


def _with_equations(result: bool | None, pred: str, gold: str, scalar: Scalar) -> bool | None:
    """``y = -x/2 + 3/4`` against ``2x + 4y - 3 = 0``: the assignment was reduced to its value,
    so when both sides are written as equations, compare the equations as written too."""
    if result:
        return True
    pk, gk = normalize_answer(pred, keep_assignment=True), normalize_answer(gold, keep_assignment=True)
    if (pk, gk) == (normalize_answer(pred), normalize_answer(gold)) or "=" not in pk or "=" not in gk:
        return result
    if screen(pk) is not None or screen(gk) is not None:
        return result
    again = scalar(pk, gk)
    if again:
        return True
    return False if result is False and again is False else None


def quick_decide(pred: str, gold: str) -> bool | None:
    """Decide in-process without sympy, or return ``None`` when sympy is needed.

    Example:
        >>> quick_decide("$76", "76"), quick_decide("(B)", "B"), quick_decide("0.5", "\\\\frac12")
        (True, True, True)
        >>> quick_decide("20!", "2432902008176640001"), quick_decide("10:30", "10.5")
        (False, False)
        >>> quick_decide("y = 2x + 1", "4x - 2y + 2 = 0")
        True
    """
    if not isinstance(pred, str) or not isinstance(gold, str):
        return False
    return _with_equations(compare(pred, gold, scalar_fast), pred, gold, scalar_fast)


def check_equivalence(pred: str, gold: str, backend: str = "math_verify") -> bool:
    """Full equivalence of two extracted answers (no time limit: use inside a worker).

    ``backend`` picks how sympy compares relations: ``"math_verify"`` (default) or plain
    ``"sympy"`` (for the ablation in ``bench/verifier_agreement.py``).

    Example:
        >>> check_equivalence("(1, 2]", "\\\\left(1,2\\\\right]"), check_equivalence("[1,2]", "(1,2)")
        (True, False)
    """
    if not isinstance(pred, str) or not isinstance(gold, str):
        return False

    def scalar(p: str, g: str) -> bool:
        return _scalar_full(p, g, backend)

    return bool(_with_equations(compare(pred, gold, scalar), pred, gold, scalar))
