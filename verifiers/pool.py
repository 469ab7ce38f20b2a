"""A pool of verifier worker processes with a hard per-task time limit.

Each task runs in a worker process; when it exceeds its limit, the worker is killed
(SIGKILL) and replaced, and the rest of the batch goes on. No signals are used in the
caller, so it works from any thread and inside Ray actors. Workers are started with the
``forkserver`` method (falling back to ``spawn``), never plain ``fork``: forking a
threaded process (a Ray actor, a vLLM engine) can deadlock. The forkserver preloads
sympy/math-verify, so a replacement worker is ready in milliseconds.

A pool is reusable across calls and safe to share between threads: each ``run`` call
checks out up to ``workers`` idle processes and returns them when done. Pools are
closed at interpreter exit.

As with any ``spawn``/``forkserver`` code, a *script* that grades at import time needs
an ``if __name__ == "__main__":`` guard (the workers import the main module).

Example:
    >>> with VerifierPool(size=1) as pool:                      # doctest: +SKIP
    ...     [r.status for r in pool.run([("sleep", (10,)), ("equiv", ("1/2", "0.5"))], timeout=1)]
    ['timeout', 'ok']
"""

from __future__ import annotations

import atexit
import multiprocessing as mp
import os
import threading
import time
import weakref
from collections import Counter, OrderedDict, deque
from itertools import islice
from dataclasses import dataclass, field
from multiprocessing.connection import wait as mp_wait
from typing import Any, Sequence

from .worker import worker_main

DEFAULT_MEMORY_LIMIT = int(os.environ.get("PRM_VERIFIER_MEMORY_MB", "4096")) << 20
STARTUP_TIMEOUT_S = 120.0
MAX_START_FAILURES = 3
AFFINITY_MEMORY = 256  # keys remembered per worker (its parse cache holds 256 entries)
AFFINITY_WINDOW = 32  # how far down the queue to look for a task with a familiar key
_PRELOAD = "verifiers._preload"
_POOLS: "weakref.WeakSet[VerifierPool]" = weakref.WeakSet()


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


@dataclass
class PoolStats:
    """Counters of one pool (for ``stats.json``)."""

    tasks: int = 0
    timeouts: int = 0
    crashes: int = 0
    restarts: int = 0
    start_failures: int = 0
    last_error: str = field(default="", repr=False)


def default_start_method() -> str:
    """``PRM_VERIFIER_START_METHOD`` if set, else ``forkserver`` where available, else ``spawn``.

    Example:
        >>> default_start_method() in ("forkserver", "spawn")
        True
    """
    env = os.environ.get("PRM_VERIFIER_START_METHOD")
    if env:
        return env
    return "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"


def _context(method: str) -> Any:
    ctx = mp.get_context(method)
    if method == "forkserver":
        try:
            from multiprocessing import forkserver

            current = list(getattr(forkserver._forkserver, "_preload_modules", []))
            # Never preload "__main__": the server would run an unguarded script.
            wanted = [m for m in current if m != "__main__"]
            if _PRELOAD not in wanted:
                wanted.append(_PRELOAD)
            ctx.set_forkserver_preload(wanted)
        except Exception:
            pass
    return ctx


class VerifierPool:
    """Worker processes that run verifier tasks with a hard time limit each.

    Args:
        size: most worker processes alive at once.
        start_method: ``"forkserver"`` (default on Linux) or ``"spawn"``.
        memory_limit: address-space cap of each worker in bytes (``None``: no cap).
        max_tasks_per_worker: recycle a worker after this many tasks (bounds caches).
    """

    def __init__(
        self,
        size: int = 2,
        *,
        start_method: str | None = None,
        memory_limit: int | None = DEFAULT_MEMORY_LIMIT,
        max_tasks_per_worker: int = 5000,
        startup_timeout: float = STARTUP_TIMEOUT_S,
    ) -> None:
        self.size = max(1, int(size))
        self.start_method = start_method or default_start_method()
        self.memory_limit = memory_limit
        self.max_tasks_per_worker = max_tasks_per_worker
        self.startup_timeout = startup_timeout
        self.stats = PoolStats()
        self._ctx = _context(self.start_method)
        self._cond = threading.Condition()
        self._idle: list[_Worker] = []
        self._live = 0
        self._closed = False
        _POOLS.add(self)

    # -- lifecycle ---------------------------------------------------------------------
    def __enter__(self) -> "VerifierPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def resize(self, size: int) -> None:
        """Raise (or lower) the number of workers allowed; extra workers start lazily."""
        with self._cond:
            self.size = max(1, int(size))
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def worker_pids(self) -> list[int]:
        """Pids of idle workers (for tests and monitoring)."""
        with self._cond:
            return [w.proc.pid for w in self._idle if w.proc.pid]

    def close(self) -> None:
        """Stop all idle workers; workers in use stop when their ``run`` returns."""
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._live -= len(idle)
            self._cond.notify_all()
        for w in idle:
            try:
                w.conn.send(None)
            except Exception:
                pass
        for w in idle:
            w.proc.join(timeout=0.5)
            self._kill(w)

    # -- workers -----------------------------------------------------------------------
    def _spawn(self) -> _Worker:
        parent_conn, child_conn = self._ctx.Pipe(duplex=True)
        proc = self._ctx.Process(
            target=worker_main,
            args=(child_conn, os.getpid(), self.memory_limit),
            name="prm-verifier-worker",
            daemon=True,
        )
        try:
            proc.start()
        finally:
            child_conn.close()
        return _Worker(proc=proc, conn=parent_conn, started=time.monotonic())

    @staticmethod
    def _kill(w: _Worker) -> None:
        try:
            if w.proc.is_alive():
                w.proc.kill()
            w.proc.join(timeout=2.0)
        except Exception:
            pass
        try:
            w.conn.close()
        except Exception:
            pass

    def _acquire(self, want: int) -> tuple[list[_Worker], int]:
        """Check out up to ``want`` idle workers plus the right to start ``n_new`` more."""
        with self._cond:
            while True:
                if self._closed:
                    raise RuntimeError("VerifierPool is closed")
                if self._idle or self._live < self.size:
                    break
                self._cond.wait()
            got = [self._idle.pop() for _ in range(min(want, len(self._idle)))]
            n_new = min(want - len(got), self.size - self._live)
            self._live += n_new
            return got, n_new

    def _release(self, workers: list[_Worker]) -> None:
        with self._cond:
            for w in workers:
                if self._closed or self._live > self.size or not w.proc.is_alive():
                    self._live -= 1
                    threading.Thread(target=self._kill, args=(w,), daemon=True).start()
                else:
                    self._idle.append(w)
            self._cond.notify_all()

    def _try_spawn(self) -> _Worker | None:
        try:
            return self._spawn()
        except Exception as e:  # cannot start processes here (daemon parent, no fds, ...)
            self.stats.start_failures += 1
            self.stats.last_error = f"worker start failed: {type(e).__name__}: {e}"
            with self._cond:
                self._live -= 1
                self._cond.notify_all()
            return None

    # -- running -----------------------------------------------------------------------
    def run(
        self,
        tasks: Sequence[tuple[str, tuple]],
        timeout: float,
        workers: int | None = None,
        keys: Sequence[Any] | None = None,
    ) -> list[TaskResult]:
        """Run ``(op, args)`` tasks, each limited to ``timeout`` seconds; results keep order.

        A task that runs over its limit gets ``TaskResult("timeout")``; its worker is
        killed and replaced, and the remaining tasks still run. Never raises for a
        task's sake; raises ``RuntimeError`` only when the pool is closed.

        ``keys`` (one per task, e.g. the gold answer) give affinity: a free worker
        prefers a queued task whose key it has seen, so its parse caches get hits.
        """
        n = len(tasks)
        timeout = float(timeout) if timeout and float(timeout) > 0 else 5.0
        results: list[TaskResult | None] = [None] * n
        if n == 0:
            return []
        want = max(1, min(int(workers or self.size), self.size, n))
        held, n_new = self._acquire(want)
        dead = [w for w in held if not w.proc.is_alive()]  # killed while idle
        held = [w for w in held if w not in dead]
        for w in dead:
            self._kill(w)
            self.stats.crashes += 1
        n_new += len(dead)
        mine: list[_Worker] = list(held)
        starting: list[_Worker] = [w for w in held if not w.ready]
        idle: list[_Worker] = [w for w in held if w.ready]
        for _ in range(n_new):
            w = self._try_spawn()
            if w is not None:
                mine.append(w)
                starting.append(w)
        queue = deque(range(n))
        busy: dict[_Worker, tuple[int, float]] = {}
        resent: Counter[int] = Counter()
        failures = 0

        def replace(w: _Worker) -> None:
            nonlocal failures
            mine.remove(w)
            self._kill(w)
            self.stats.restarts += 1
            if failures > MAX_START_FAILURES:
                with self._cond:
                    self._live -= 1
                    self._cond.notify_all()
                return
            new = self._try_spawn()
            if new is not None:
                mine.append(new)
                starting.append(new)

        try:
            while queue or busy:
                while idle and queue:
                    w = idle.pop()
                    i = _pick(queue, w, keys)
                    op, args = tasks[i]
                    try:
                        w.conn.send((i, op, args))
                    except Exception as e:  # the worker died while idle: the task never ran
                        resent[i] += 1
                        if resent[i] > MAX_START_FAILURES:
                            results[i] = TaskResult("crash", f"send failed: {type(e).__name__}")
                        else:
                            queue.appendleft(i)
                        self.stats.crashes += 1
                        replace(w)
                        continue
                    busy[w] = (i, time.monotonic() + timeout)
                if not queue and not busy:
                    break
                if not busy and not idle and not starting:
                    msg = self.stats.last_error or "no verifier worker could start"
                    for i in queue:
                        results[i] = TaskResult("crash", msg)
                    queue.clear()
                    break
                now = time.monotonic()
                deadlines = [d for _, d in busy.values()]
                deadlines += [w.started + self.startup_timeout for w in starting]
                by_conn = {w.conn: w for w in list(busy) + starting}
                ready = mp_wait(list(by_conn), timeout=max(0.0, min(deadlines) - now))
                for c in ready:
                    w = by_conn[c]
                    try:
                        msg = c.recv()
                    except Exception:
                        msg = None
                    if w in busy:
                        i, _ = busy.pop(w)
                        self.stats.tasks += 1
                        if msg is None:
                            results[i] = TaskResult("crash", "worker died")
                            self.stats.crashes += 1
                            replace(w)
                            continue
                        _, ok, value = msg
                        results[i] = TaskResult("ok" if ok else "error", value)
                        w.tasks_done += 1
                        if (not ok and value == "MemoryError") or w.tasks_done >= self.max_tasks_per_worker:
                            replace(w)
                        else:
                            idle.append(w)
                    else:
                        starting.remove(w)
                        if msg is not None and msg[0] == "ready":
                            w.ready = True
                            failures = 0
                            idle.append(w)
                        else:
                            failures += 1
                            self.stats.start_failures += 1
                            self.stats.last_error = "worker exited during start-up"
                            replace(w)
                now = time.monotonic()
                for w, (i, deadline) in list(busy.items()):
                    if now >= deadline:
                        del busy[w]
                        results[i] = TaskResult("timeout", None)
                        self.stats.tasks += 1
                        self.stats.timeouts += 1
                        replace(w)
                for w in list(starting):
                    if now >= w.started + self.startup_timeout:
                        starting.remove(w)
                        failures += 1
                        self.stats.start_failures += 1
                        self.stats.last_error = "worker start-up timed out"
                        replace(w)
        finally:
            for w in list(busy):  # interrupted mid-batch: their answers would be stale
                mine.remove(w)
                self._kill(w)
                with self._cond:
                    self._live -= 1
            self._release(mine)
        return [r if r is not None else TaskResult("crash", "not run") for r in results]


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


def close_all_pools() -> None:
    """Close every pool of this process (registered with ``atexit``)."""
    for pool in list(_POOLS):
        try:
            pool.close()
        except Exception:
            pass


atexit.register(close_all_pools)
