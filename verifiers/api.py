"""The public verdict API: :func:`grade`, :func:`grade_many`, :func:`is_equivalent`.

Each pair is first prepared in the calling process (type checks, answer extraction,
the screen that refuses inputs unsafe to parse, and :func:`~verifiers.equivalence.quick_decide`,
which decides exact numbers, radicals, powers and polynomial identities without sympy).
Most pairs are decided right there, without IPC. The rest go to a shared
:class:`~verifiers.pool.VerifierPool`, where each comparison has a hard time limit.

When no worker process can be started, :func:`grade`, :func:`grade_many` and
:func:`is_equivalent` raise :class:`~verifiers.launch.VerifierUnavailable`: they never
return a verdict they did not compute.

Example:
    >>> grade("38 * 2 = 76. The answer is 76", "76")
    Verdict(status='correct', extracted='76', detail='')
    >>> grade("no idea", "76").status
    'no_answer'
"""

from __future__ import annotations

import math
import numbers
import threading
from dataclasses import dataclass
from typing import Any, Iterable

from .equivalence import quick_decide
from .extract import MAX_ANSWER_CHARS, clean_answer, extract_answer
from .normalize import compact, normalize_answer
from .pool import TaskResult, VerifierPool
from .screen import screen
from .types import Verdict

DEFAULT_TIMEOUT_S = 5.0
DEFAULT_WORKERS = 2

_shared: VerifierPool | None = None
_shared_lock = threading.Lock()


def shared_pool(min_size: int = 1) -> VerifierPool:
    """The process-wide pool, created on first use and grown to ``min_size`` workers.

    Example:
        >>> shared_pool().size >= 1                               # doctest: +SKIP
        True
    """
    global _shared
    with _shared_lock:
        if _shared is None or _shared.closed:
            _shared = VerifierPool(size=max(1, min_size))
        elif _shared.size < min_size:
            _shared.resize(min_size)
        return _shared


def shutdown() -> None:
    """Stop the shared pool's workers now (it is also done at interpreter exit)."""
    global _shared
    with _shared_lock:
        pool, _shared = _shared, None
    if pool is not None:
        pool.close()


def gold_answer(gold: Any) -> str | None:
    """The answer string of a gold value; ``None`` when the gold is unusable.

    A gold solution (GSM8K ``#### N``, MATH ``\\boxed{}``) is reduced to its answer;
    ints and finite floats are accepted.

    Example:
        >>> gold_answer("48/2 = 24\\n#### 72"), gold_answer(72), gold_answer(""), gold_answer(None)
        ('72', '72', None, None)
    """
    if isinstance(gold, bool) or gold is None:
        return None
    if isinstance(gold, numbers.Integral):
        return str(int(gold))
    if isinstance(gold, numbers.Real):
        return repr(float(gold)) if math.isfinite(float(gold)) else None
    if not isinstance(gold, str):
        return None
    g = gold.replace("\x00", "").strip()
    if not g or len(g) > 20 * MAX_ANSWER_CHARS:
        return None
    if "####" in g or "\\boxed" in g or "\\fbox" in g:
        ans = extract_answer(g)
    else:
        ans = clean_answer(g, boxed=True)  # a gold is an answer: "20!" keeps its factorial sign
    if ans is None or not normalize_answer(ans):
        return None
    return ans


@dataclass(frozen=True)
class _Prepared:
    verdict: Verdict | None
    pred: str | None = None
    gold: str | None = None


def prepare(response: Any, gold: Any) -> _Prepared:
    """Everything decidable in-process: gold check, extraction, screen, fast path.

    Example:
        >>> prepare("The answer is 10**10**10", "5").verdict.detail
        'unsafe: huge power'
        >>> prepare("The answer is $\\\\sin^2 x$", "1-\\\\cos^2 x").verdict is None
        True
    """
    try:
        g = gold_answer(gold)
        if g is None:
            return _Prepared(Verdict("invalid_gold", None, "unusable gold answer"))
        gold_reason = screen(normalize_answer(g))
        if gold_reason is not None:
            return _Prepared(Verdict("invalid_gold", None, f"unsafe gold: {gold_reason}"))
        pred = extract_answer(response)
        if pred is None:
            return _Prepared(Verdict("no_answer", None))
        reason = screen(normalize_answer(pred))
        if reason is not None and compact(normalize_answer(pred)) != compact(normalize_answer(g)):
            return _Prepared(Verdict("incorrect", pred, f"unsafe: {reason}"))
        quick = quick_decide(pred, g)
        if quick is not None:
            return _Prepared(Verdict("correct" if quick else "incorrect", pred))
        return _Prepared(None, pred, g)
    except Exception as e:  # a bug in pure string code: say so, never guess
        return _Prepared(Verdict("error", None, f"error: {type(e).__name__}: {e}"[:200]))


def _verdict_from(result: TaskResult, pred: str, timeout: float) -> Verdict:
    if result.status == "ok":
        return Verdict("correct" if result.value else "incorrect", pred)
    if result.status == "timeout":
        return Verdict("timeout", pred, f"timeout after {timeout:g}s")
    if result.status == "error":
        return Verdict("error", pred, f"error: {result.value}")
    return Verdict("error", pred, f"worker: {result.value}")


def _as_pair(item: Any) -> tuple[Any, Any]:
    try:
        response, gold = item
        return response, gold
    except Exception:
        return None, None


def grade_many(
    pairs: Iterable[tuple[Any, Any]],
    workers: int = DEFAULT_WORKERS,
    timeout: float = DEFAULT_TIMEOUT_S,
    pool: VerifierPool | None = None,
) -> list[Verdict]:
    """Grade ``(response, gold)`` pairs; one :class:`Verdict` per pair, in order.

    Pairs the fast path cannot decide run in up to ``workers`` processes of the shared
    pool (or ``pool``), each with a hard ``timeout`` in seconds. Bad input never raises
    (it gets a status); :class:`~verifiers.launch.VerifierUnavailable` is raised when no
    worker process can run, since those pairs would get no verdict.

    Example:
        >>> [v.status for v in grade_many([("The answer is 5", "5"), ("#### 7", "8")])]
        ['correct', 'incorrect']
    """
    try:
        items = [_as_pair(p) for p in pairs]
    except Exception:
        return []
    try:
        timeout = float(timeout)
        if not (timeout > 0 and math.isfinite(timeout)):
            raise ValueError
    except (TypeError, ValueError):
        timeout = DEFAULT_TIMEOUT_S
    prepared = [prepare(r, g) for r, g in items]
    todo = [i for i, p in enumerate(prepared) if p.verdict is None]
    verdicts: list[Verdict | None] = [p.verdict for p in prepared]
    if todo:
        # Rollouts of one problem often end in the same answer: compare each distinct
        # (answer, gold) pair once.
        groups: dict[tuple[str, str], list[int]] = {}
        for i in todo:
            groups.setdefault((prepared[i].pred or "", prepared[i].gold or ""), []).append(i)
        try:
            n_workers = max(1, int(workers))
        except (TypeError, ValueError):
            n_workers = DEFAULT_WORKERS
        the_pool = pool if pool is not None else shared_pool(n_workers)
        tasks = [("equiv", key) for key in groups]
        golds = [gold for _, gold in groups]  # affinity: a worker re-uses its parse of a gold
        results = the_pool.run(tasks, timeout=timeout, workers=n_workers, keys=golds)
        for (pred, _), idx, res in zip(groups, groups.values(), results):
            for i in idx:
                verdicts[i] = _verdict_from(res, pred, timeout)
    return [v if v is not None else Verdict("error", None, "internal: no verdict") for v in verdicts]


def grade(response: Any, gold: Any, timeout: float = DEFAULT_TIMEOUT_S) -> Verdict:
    """Grade one response against a gold answer; never runs past ``timeout`` (see :func:`grade_many`).

    Example:
        >>> grade("The final answer is $\\\\frac{1}{2}$.", "0.5").correct
        True
    """
    return grade_many([(response, gold)], workers=1, timeout=timeout)[0]


def is_equivalent(pred: Any, gold: Any, timeout: float = DEFAULT_TIMEOUT_S) -> bool:
    """True when two extracted answers are equal (time-limited like :func:`grade`).

    A pair that times out or errs is not equal. Raises
    :class:`~verifiers.launch.VerifierUnavailable` when it needs a worker and none can run.

    Example:
        >>> is_equivalent("x = 5", "5"), is_equivalent("3.14", "\\\\pi")
        (True, False)
    """
    if not isinstance(pred, str) or not isinstance(gold, str):
        return False
    if screen(normalize_answer(pred)) or screen(normalize_answer(gold)):
        return compact(normalize_answer(pred)) == compact(normalize_answer(gold)) != ""
    quick = quick_decide(pred, gold)
    if quick is not None:
        return quick
    try:
        timeout = float(timeout)
    except (TypeError, ValueError):
        timeout = DEFAULT_TIMEOUT_S
    res = shared_pool(1).run([("equiv", (pred, gold))], timeout=timeout, workers=1)[0]
    return res.status == "ok" and bool(res.value)
