"""Answer extraction and symbolic equivalence that never hang.

Public API (importing this package is cheap: sympy and math-verify load only inside
the worker processes that need them)::

    extract_answer(text) -> str | None
    is_equivalent(pred, gold, timeout=5.0) -> bool
    grade(response, gold, timeout=5.0) -> Verdict
    grade_many(pairs, workers=2, timeout=5.0, pool=None) -> list[Verdict]
    Verdict(status, extracted, detail)      # .correct
    VerifierUnavailable                     # raised when no worker process can run
    false_equation(text) -> str | None      # first false plain equation ("47 / 2 = 23"), pure Python
    VerifierPool(size=2, ...)               # a private pool; shutdown() stops the shared one

Example:
    >>> from verifiers import grade
    >>> grade("23 + 15 = 38\\n38 * 2 = 76. The answer is 76", "76").correct
    True
"""

from .arithmetic import false_equation
from .api import DEFAULT_TIMEOUT_S, DEFAULT_WORKERS, grade, grade_many, is_equivalent, shared_pool, shutdown
from .equivalence import check_equivalence, quick_decide
from .extract import extract_answer, final_part
from .launch import VerifierUnavailable
from .normalize import normalize_answer
from .pool import VerifierPool
from .types import STATUSES, Status, Verdict

VERIFIER_NAME = "prm-factory-verifier/2"

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "DEFAULT_WORKERS",
    "STATUSES",
    "Status",
    "VERIFIER_NAME",
    "Verdict",
    "VerifierPool",
    "VerifierUnavailable",
    "check_equivalence",
    "extract_answer",
    "false_equation",
    "final_part",
    "grade",
    "grade_many",
    "is_equivalent",
    "normalize_answer",
    "quick_decide",
    "shared_pool",
    "shutdown",
]
