"""Equivalence of two extracted answers: a cheap in-process decision, then the full check.

* :func:`quick_decide` never touches sympy: normalized string equality, multiple-choice
  letters, word answers, exact numbers. It returns ``None`` when it cannot decide.
* :func:`check_equivalence` adds structure (tuples, intervals, sets, matrices, unions)
  and sympy. It has **no time limit**: the public :func:`verifiers.is_equivalent`
  runs it in a worker process that is killed on timeout.

Example:
    >>> quick_decide("1,000", "1000"), quick_decide("2\\\\sqrt{2}", "\\\\sqrt{8}") is None
    (True, True)
    >>> check_equivalence("2\\\\sqrt{2}", "\\\\sqrt{8}")
    True
"""

from __future__ import annotations

import re

from .normalize import compact, normalize_answer
from .numeric import numbers_equal, parse_number
from .screen import MAX_CHARS, screen
from .structure import Structure, parse_structure

_MC_GOLD_RE = re.compile(r"^\(?([A-J])\)?$")
_MC_PRED_RE = re.compile(r"^(?:\(([A-J])\)|([A-J])[.):]?)(?:\s.*)?$|^\(?([a-j])\)?$", re.S)
_WORD_RE = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{3,}(?![A-Za-z])")
_MATH_WORDS = frozenset(
    "sin cos tan sec csc cot arcsin arccos arctan sinh cosh tanh log ln exp sqrt frac pi "
    "infty det max min gcd lcm mod deg arg lim cdot times".split()
)
_ENV_RE = re.compile(r"\\(?:begin|end|operatorname|mathbb|mathcal|mathfrak)\s*\{[^{}]*\}")
_RELATION_RE = re.compile(r"<|>|\\[lg]eq?(?![A-Za-z])|\\[lg]t(?![A-Za-z])|\\neq")
MAX_ELEMENTS = 64


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


def quick_decide(pred: str, gold: str) -> bool | None:
    """Decide cheaply without sympy, or return ``None`` when sympy is needed.

    Example:
        >>> quick_decide("$76", "76"), quick_decide("(B)", "B"), quick_decide("0.5", "\\\\frac12")
        (True, True, True)
    """
    if not isinstance(pred, str) or not isinstance(gold, str):
        return False
    if len(pred) > MAX_CHARS or len(gold) > MAX_CHARS:
        return pred.strip() == gold.strip() and bool(gold.strip())
    p, g = normalize_answer(pred), normalize_answer(gold)
    if not p or not g:
        return False
    if compact(p) == compact(g):
        return True
    letter = mc_letter(g)
    if letter is not None:
        return _pred_letter(p) == letter
    if is_wordy(p) or is_wordy(g):
        return _text_key(p) == _text_key(g)
    np_, ng = parse_number(p), parse_number(g)
    if np_ is not None and ng is not None:
        return numbers_equal(np_, ng)
    if screen(p) is not None:
        return False
    return None


def check_equivalence(pred: str, gold: str, backend: str = "math_verify") -> bool:
    """Full equivalence of two extracted answers (no time limit: use inside a worker).

    ``backend`` picks the scalar comparison: ``"math_verify"`` (default) or plain
    ``"sympy"`` simplification (for the ablation in ``bench/verifier_agreement.py``).

    Example:
        >>> check_equivalence("(1, 2]", "\\\\left(1,2\\\\right]"), check_equivalence("[1,2]", "(1,2)")
        (True, False)
    """
    quick = quick_decide(pred, gold)
    if quick is not None:
        return quick
    p, g = normalize_answer(pred), normalize_answer(gold)
    if screen(g) is not None:
        return False
    if _equal_normalized(p, g, 0, backend):
        return True
    # "y = -x/2 + 3/4" against the equation "2x + 4y - 3 = 0": the assignment was reduced
    # to its value, so compare the two equations as written instead.
    pk, gk = normalize_answer(pred, keep_assignment=True), normalize_answer(gold, keep_assignment=True)
    if (pk, gk) != (p, g) and "=" in pk and "=" in gk:
        from .symbolic import symbolic_equal

        return symbolic_equal(pk, gk, backend)
    return False


def _equal_elements(p: str, g: str, depth: int, backend: str) -> bool:
    p, g = normalize_answer(p), normalize_answer(g)
    if not p or not g:
        return False
    if compact(p) == compact(g):
        return True
    np_, ng = parse_number(p), parse_number(g)
    if np_ is not None and ng is not None:
        return numbers_equal(np_, ng)
    if screen(p) is not None or screen(g) is not None:
        return False
    return _equal_normalized(p, g, depth, backend)


def _match_unordered(ps: tuple, gs: tuple, depth: int, backend: str) -> bool:
    if len(ps) != len(gs) or len(gs) > MAX_ELEMENTS:
        return False
    unused = list(ps)
    for g in gs:
        for k, p in enumerate(unused):
            if _equal_elements(p, g, depth + 1, backend):
                del unused[k]
                break
        else:
            return False
    return True


def _equal_structures(sp: Structure, sg: Structure, depth: int, backend: str) -> bool | None:
    kinds = {sp.kind, sg.kind}
    if kinds <= {"set", "list"}:
        return _match_unordered(sp.items, sg.items, depth, backend)
    if sp.kind != sg.kind:
        return None
    if sg.kind == "ordered":
        return (
            sp.brackets == sg.brackets
            and len(sp.items) == len(sg.items)
            and all(_equal_elements(a, b, depth + 1, backend) for a, b in zip(sp.items, sg.items))
        )
    if sg.kind == "union":
        return _match_unordered(sp.items, sg.items, depth, backend)
    if sg.kind == "matrix":
        if len(sp.items) != len(sg.items) or any(len(a) != len(b) for a, b in zip(sp.items, sg.items)):
            return False
        return all(
            _equal_elements(a, b, depth + 1, backend)
            for ra, rb in zip(sp.items, sg.items)
            for a, b in zip(ra, rb)
        )
    return None


def _equal_normalized(p: str, g: str, depth: int, backend: str) -> bool:
    if depth > 8:
        return False
    sp, sg = parse_structure(p), parse_structure(g)
    if sp.kind != "scalar" or sg.kind != "scalar":
        decided = _equal_structures(sp, sg, depth, backend)
        if decided is not None:
            return decided
        matrix_expr = "matrix" in (sp.kind, sg.kind) and "\\begin" in (p if sp.kind != "matrix" else g)
        if not (_RELATION_RE.search(p) or _RELATION_RE.search(g) or matrix_expr):
            return False
    from .symbolic import symbolic_equal

    return symbolic_equal(p, g, backend)
