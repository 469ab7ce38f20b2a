"""One ``VerifierPool.run`` call: its queue, its workers, their deadlines (see :mod:`.pool`).

Example:
    >>> TaskResult("timeout").status
    'timeout'
"""

from __future__ import annotations

import time
from collections import Counter, OrderedDict, deque
from dataclasses import dataclass, field
from itertools import islice
from multiprocessing.connection import wait as mp_wait
from typing import TYPE_CHECKING, Any, Sequence

from .launch import VerifierUnavailable

if TYPE_CHECKING:
    from .pool import VerifierPool

MAX_START_FAILURES = 3
MAX_TASK_CRASHES = 2  # a task whose worker died this often is reported as "crash"
AFFINITY_MEMORY = 256  # keys remembered per worker (its parse cache holds 256 entries)
AFFINITY_WINDOW = 32  # how far down the queue to look for a task with a familiar key


@dataclass(frozen=True)
class TaskResult:
    """Outcome of one task: ``status`` in {"ok", "error", "timeout", "crash"}.

    Example:
        >>> TaskResult("ok", True).value
        True
    """

    status: str
    value: Any = None


@dataclass(eq=False)
class _Worker:
    proc: Any
    conn: Any
    started: float
    ready: bool = False
    tasks_done: int = 0
    recent: "OrderedDict[Any, None]" = field(default_factory=OrderedDict)  # affinity keys it has seen

    def remember(self, key: Any) -> None:
        self.recent[key] = None
        self.recent.move_to_end(key)
        if len(self.recent) > AFFINITY_MEMORY:
            self.recent.popitem(last=False)


class _Batch:
    """The state of one ``VerifierPool.run`` call: its workers, queue and deadlines."""

    def __init__(self, pool: VerifierPool, tasks: Sequence[tuple[str, tuple]], timeout: float,
                 keys: Sequence[Any] | None) -> None:
        self.pool, self.tasks, self.timeout, self.keys = pool, tasks, timeout, keys
        self.results: list[TaskResult | None] = [None] * len(tasks)
        self.queue = deque(range(len(tasks)))
        self.mine: list[_Worker] = []
        self.starting: list[_Worker] = []
        self.idle: list[_Worker] = []
        self.busy: dict[_Worker, tuple[int, float]] = {}
        self.crashed: Counter[int] = Counter()
        self.failures = 0  # consecutive start failures

    def adopt(self, held: list[_Worker], n_new: int) -> None:
        for w in held:
            if not w.proc.is_alive():  # killed while idle
                self.pool._kill(w)
                self.pool.stats.crashes += 1
                n_new += 1
                continue
            self.mine.append(w)
            (self.idle if w.ready else self.starting).append(w)
        for _ in range(n_new):
            self._add_new()

    def _add_new(self) -> None:
        w = self.pool._try_spawn()
        if w is None:
            self.failures += 1
            return
        self.mine.append(w)
        self.starting.append(w)

    def replace(self, w: _Worker) -> None:
        self.mine.remove(w)
        self.pool._kill(w)
        self.pool.stats.restarts += 1
        if self.failures > MAX_START_FAILURES:
            self.pool._give_up_slot()
            return
        self._add_new()

    def _requeue_or_fail(self, i: int, why: str) -> None:
        self.crashed[i] += 1
        self.pool.stats.crashes += 1
        if self.crashed[i] >= MAX_TASK_CRASHES:
            self.results[i] = TaskResult("crash", why)
        else:
            self.queue.appendleft(i)

    def dispatch(self) -> None:
        while self.idle and self.queue:
            w = self.idle.pop()
            i = _pick(self.queue, w, self.keys)
            op, args = self.tasks[i]
            try:
                w.conn.send((i, op, args))
            except Exception as e:  # the worker died while idle: the task never ran
                self.queue.appendleft(i)
                self.pool.stats.crashes += 1
                self.pool.stats.last_error = f"send failed: {type(e).__name__}"
                self.replace(w)
                continue
            self.busy[w] = (i, time.monotonic() + self.timeout)

    def loop(self) -> None:
        while self.queue or self.busy:
            self.dispatch()
            if not self.queue and not self.busy:
                return
            if not self.busy and not self.idle and not self.starting:
                why = self.pool.stats.last_error or "every worker died at start-up"
                raise VerifierUnavailable(
                    f"no verifier worker process could be started ({why}); no verdict was computed. "
                    "Check that sympy and math_verify import in this interpreter, that the process may "
                    "start subprocesses, and that its memory limit allows it "
                    "(PRM_VERIFIER_MEMORY_MB, now %d MiB)." % ((self.pool.memory_limit or 0) >> 20)
                )
            self.wait_once()

    def wait_once(self) -> None:
        now = time.monotonic()
        deadlines = [d for _, d in self.busy.values()]
        deadlines += [w.started + self.pool.startup_timeout for w in self.starting]
        by_conn = {w.conn: w for w in list(self.busy) + self.starting}
        for c in mp_wait(list(by_conn), timeout=max(0.0, min(deadlines) - now)):
            w = by_conn[c]
            try:
                msg = c.recv()
            except Exception:
                msg = None
            if w in self.busy:
                self.finished(w, msg)
            else:
                self.started(w, msg)
        self.expire(time.monotonic())

    def finished(self, w: _Worker, msg: Any) -> None:
        i, _ = self.busy.pop(w)
        self.pool.stats.tasks += 1
        if msg is None:
            self._requeue_or_fail(i, "the worker died on this input")
            self.replace(w)
            return
        _, ok, value = msg
        self.results[i] = TaskResult("ok" if ok else "error", value)
        w.tasks_done += 1
        if (not ok and value == "MemoryError") or w.tasks_done >= self.pool.max_tasks_per_worker:
            self.replace(w)
        else:
            self.idle.append(w)

    def started(self, w: _Worker, msg: Any) -> None:
        self.starting.remove(w)
        if msg is not None and msg[0] == "ready":
            w.ready = True
            self.failures = 0
            self.idle.append(w)
            return
        self.failures += 1
        self.pool.stats.start_failures += 1
        self.pool.stats.last_error = "a worker exited during start-up"
        self.replace(w)

    def expire(self, now: float) -> None:
        for w, (i, deadline) in list(self.busy.items()):
            if now >= deadline:
                del self.busy[w]
                self.results[i] = TaskResult("timeout", None)
                self.pool.stats.tasks += 1
                self.pool.stats.timeouts += 1
                self.replace(w)
        for w in list(self.starting):
            if now >= w.started + self.pool.startup_timeout:
                self.starting.remove(w)
                self.failures += 1
                self.pool.stats.start_failures += 1
                self.pool.stats.last_error = f"a worker did not start within {self.pool.startup_timeout:g}s"
                self.replace(w)

    def finish(self) -> None:
        for w in list(self.busy):  # interrupted mid-batch: their answers would be stale
            self.mine.remove(w)
            self.pool._kill(w)
            self.pool._give_up_slot()
        self.pool._release(self.mine)  # workers still starting are adopted by the next batch


def _pick(queue: "deque[int]", w: _Worker, keys: Sequence[Any] | None) -> int:
    """Next task for worker ``w``: one with a key it knows (within a window), else the head."""
    if keys is not None and w.recent:
        for j, i in enumerate(islice(queue, AFFINITY_WINDOW)):
            if keys[i] in w.recent:
                del queue[j]
                w.remember(keys[i])
                return i
    i = queue.popleft()
    if keys is not None:
        w.remember(keys[i])
    return i
