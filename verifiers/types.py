"""Typed results of the verifier.

Example:
    >>> v = Verdict("correct", extracted="76")
    >>> v.correct, v.status, v.extracted
    (True, 'correct', '76')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Status = Literal["correct", "incorrect", "no_answer", "timeout", "invalid_gold", "error"]
STATUSES: tuple[str, ...] = ("correct", "incorrect", "no_answer", "timeout", "invalid_gold", "error")


@dataclass(frozen=True)
class Verdict:
    """The verdict on one (response, gold) pair.

    ``status`` is one of :data:`STATUSES`; ``extracted`` is the answer found in the
    response (``None`` when there was none); ``detail`` says why, for non-obvious
    outcomes (``"timeout after 5.0s"``, ``"unsafe: huge power"``, ...).

    ``timeout`` and ``error`` mean that no verdict was reached for this pair: the check ran
    past its time limit, or its worker died on it twice (``error`` also covers a bug in the
    verifier, with the exception in ``detail``). Neither is a guess; both count as not correct.

    Example:
        >>> Verdict("timeout", "9^{9^{9^9}}", "timeout after 5.0s").correct
        False
    """

    status: Status
    extracted: str | None = None
    detail: str = ""

    @property
    def correct(self) -> bool:
        """True only for ``status == "correct"``."""
        return self.status == "correct"
