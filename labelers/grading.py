"""Grading off the engine's path: verdict jobs run concurrently with generation.

A job is a list of ``(text, gold, continuation)`` items: the prefix plus its continuation to grade
against the gold answer, and the continuation alone for the arithmetic check. Its result is one
:class:`Outcome` per item plus the seconds the job took where it ran. Graders differ only in where
the job runs; each calls ``on_done(result)`` with a :class:`JobResult` when it is finished:

* :class:`InlineGrader` runs it at once in the caller (a given ``grade_many``, unit tests);
* :class:`ThreadGrader` runs it on a thread pool of the node's size, whose comparisons go to the
  shared verifier pool's worker processes (started on the first answer that needs one);
* :class:`RayGrader` runs it as a Ray CPU task: engine actors hold their own CPUs, so the tasks land
  on the others, on any node, and a GPU never waits for sympy.

>>> result = grade_job([("2 + 3 = 5. The answer is 5", "5", "The answer is 5")], check_arithmetic=True)
>>> [(o.status, o.correct) for o in result.outcomes]
[('correct', True)]
"""
from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Sequence

Item = tuple[str, str, str]  # (text to grade, gold answer, continuation alone)


@dataclass(frozen=True)
class Outcome:
    status: str
    extracted: str | None
    correct: bool  # the verdict is correct and the continuation holds no false equation
    false_equation: str | None


@dataclass(frozen=True)
class JobResult:
    outcomes: list[Outcome] | None
    seconds: float
    error: str | None = None


def grade_job(items: Sequence[Item], check_arithmetic: bool, timeout: float = 5.0, workers: int = 1,
              grade_many: Callable | None = None) -> JobResult:
    """Grade one job where it runs (a thread, a Ray task or the caller)."""
    from verifiers import false_equation

    if grade_many is None:
        from verifiers import grade_many
    start = time.perf_counter()
    verdicts = grade_many([(text, gold) for text, gold, _ in items], workers=workers, timeout=timeout)
    outcomes = []
    for (_, _, continuation), verdict in zip(items, verdicts, strict=True):
        wrong = false_equation(continuation) if check_arithmetic else None
        outcomes.append(Outcome(verdict.status, verdict.extracted, bool(verdict.correct) and wrong is None, wrong))
    return JobResult(outcomes, time.perf_counter() - start)


class InlineGrader:
    """Grades in the caller with ``grade_many`` (the job is done when ``submit`` returns)."""

    name = "inline"

    def __init__(self, grade_many: Callable, check_arithmetic: bool, timeout: float, workers: int = 1):
        self.grade_many, self.check, self.timeout, self.workers = grade_many, check_arithmetic, timeout, workers

    def submit(self, items: Sequence[Item], on_done: Callable[[JobResult], None]) -> None:
        on_done(grade_job(items, self.check, self.timeout, self.workers, self.grade_many))

    def close(self) -> None:
        pass


class ThreadGrader:
    """A thread pool of ``workers`` threads over a verifier pool of as many processes."""

    name = "threads"

    def __init__(self, check_arithmetic: bool, timeout: float, workers: int | None = None):
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.check, self.timeout = check_arithmetic, timeout
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="grader")

    def submit(self, items: Sequence[Item], on_done: Callable[[JobResult], None]) -> None:
        def run() -> None:
            try:
                result = grade_job(items, self.check, self.timeout, self.workers)
            except Exception as err:  # the shard fails loudly; it never guesses a verdict
                result = JobResult(None, 0.0, f"{type(err).__name__}: {err}")
            on_done(result)

        self._pool.submit(run)

    def close(self) -> None:
        self._pool.shutdown(wait=False)


class RayGrader:
    """Each job a Ray task needing ``num_cpus`` CPUs, retried where its worker dies."""

    name = "ray"

    def __init__(self, check_arithmetic: bool, timeout: float, num_cpus: float = 1.0):
        import ray

        self.check, self.timeout = check_arithmetic, timeout
        self._remote = ray.remote(num_cpus=num_cpus, max_retries=3)(_ray_grade_job)

    def submit(self, items: Sequence[Item], on_done: Callable[[JobResult], None]) -> None:
        future = self._remote.remote(list(items), self.check, self.timeout).future()

        def done(f) -> None:
            try:
                result = f.result()
            except Exception as err:
                result = JobResult(None, 0.0, f"{type(err).__name__}: {err}")
            on_done(result)

        future.add_done_callback(done)

    def close(self) -> None:
        pass


def _ray_grade_job(items: list[Item], check_arithmetic: bool, timeout: float) -> JobResult:
    return grade_job(items, check_arithmetic, timeout, workers=1)


def make_grader(kind: str, check_arithmetic: bool, timeout: float, workers: int | None = None,
                grade_many: Callable | None = None):
    """``inline`` (needs ``grade_many``), ``threads`` (``workers`` threads, default: the node's CPUs) or ``ray``.

    >>> make_grader("inline", True, 5.0, grade_many=lambda pairs, workers, timeout: []).name
    'inline'
    """
    if kind == "inline":
        if grade_many is None:
            raise ValueError("the inline grader needs a grade_many function")
        return InlineGrader(grade_many, check_arithmetic, timeout, workers or 1)
    if kind == "threads":
        return ThreadGrader(check_arithmetic, timeout, workers)
    if kind == "ray":
        return RayGrader(check_arithmetic, timeout)
    raise ValueError(f"unknown grader {kind!r}; choose inline, threads or ray")
