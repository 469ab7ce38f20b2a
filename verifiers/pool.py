"""A pool of verifier worker processes with a hard per-task time limit.

Each task runs in a worker process; when it exceeds its limit, the worker is killed
(SIGKILL) and replaced, and the rest of the batch goes on. No signals are used in the
caller, so it works from any thread and inside Ray actors. Workers are started by
:mod:`.launch` (a fork host by default), which never re-imports the caller's ``__main__``:
grading works from scripts without a ``__main__`` guard, from ``python -c``, from standard
input and from notebooks.

A pool is reusable across calls and safe to share between threads: each ``run`` call
checks out up to ``workers`` idle processes and returns them when done. When no worker can
be started, or they keep dying at start-up, ``run`` raises
:class:`~verifiers.launch.VerifierUnavailable`: it never returns results it did not compute.
Pools are closed at interpreter exit.

Example:
    >>> with VerifierPool(size=1) as pool:                      # doctest: +SKIP
    ...     [r.status for r in pool.run([("sleep", (10,)), ("equiv", ("1/2", "0.5"))], timeout=1)]
    ['timeout', 'ok']
"""

from __future__ import annotations

import atexit
import os
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any, Sequence

from .batch import MAX_START_FAILURES, MAX_TASK_CRASHES, TaskResult, _Batch, _pick, _Worker  # noqa: F401 (re-exported)
from .launch import VerifierUnavailable, close_fork_host, cpu_seconds, default_start_method, start_worker

DEFAULT_MEMORY_LIMIT = int(os.environ.get("PRM_VERIFIER_MEMORY_MB", "4096")) << 20
STARTUP_TIMEOUT_S = 120.0
_POOLS: "weakref.WeakSet[VerifierPool]" = weakref.WeakSet()


@dataclass
class PoolStats:
    """Counters of one pool (for ``stats.json`` and the throughput benchmark)."""

    tasks: int = 0
    timeouts: int = 0
    crashes: int = 0
    restarts: int = 0
    start_failures: int = 0
    retired_cpu_s: float = 0.0  # CPU seconds of workers already stopped
    last_error: str = field(default="", repr=False)


class VerifierPool:
    """Worker processes that run verifier tasks with a hard time limit each.

    Args:
        size: most worker processes alive at once.
        start_method: ``"forkhost"`` (default where ``fork`` exists) or ``"spawn"``.
        memory_limit: address-space cap of each worker in bytes (``None``: no cap).
        max_tasks_per_worker: recycle a worker after this many tasks (bounds caches).
        startup_timeout: seconds a new worker may take to say it is ready.
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
        if self.start_method == "forkserver":
            self.start_method = "forkhost"
        self.memory_limit = memory_limit
        self.max_tasks_per_worker = max_tasks_per_worker
        self.startup_timeout = startup_timeout
        self.stats = PoolStats()
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

    def cpu_seconds(self) -> float | None:
        """CPU seconds used by this pool's workers so far (idle and stopped; Linux only)."""
        with self._cond:
            live = [cpu_seconds(w.proc.pid) for w in self._idle]
        if any(c is None for c in live):
            return None
        return self.stats.retired_cpu_s + sum(c for c in live if c is not None)

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
    def _kill(self, w: _Worker) -> None:
        cpu = cpu_seconds(w.proc.pid) if w.proc.is_alive() else None
        self.stats.retired_cpu_s += cpu or 0.0
        try:
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

    def _give_up_slot(self) -> None:
        with self._cond:
            self._live -= 1
            self._cond.notify_all()

    def _try_spawn(self) -> _Worker | None:
        try:
            proc = start_worker(self.start_method, self.memory_limit, self.startup_timeout)
        except Exception as e:  # no fork, no fds, a broken interpreter, ...
            self.stats.start_failures += 1
            self.stats.last_error = f"{type(e).__name__}: {e}"
            self._give_up_slot()
            return None
        return _Worker(proc=proc, conn=proc.conn, started=time.monotonic())

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
        killed and replaced, and the remaining tasks still run. A task whose worker dies is
        retried on a fresh worker, and reported as ``"crash"`` after
        :data:`MAX_TASK_CRASHES` deaths. Raises :class:`VerifierUnavailable` when no worker
        can be started or kept alive, and ``RuntimeError`` when the pool is closed.

        ``keys`` (one per task, e.g. the gold answer) give affinity: a free worker
        prefers a queued task whose key it has seen, so its parse caches get hits.
        """
        if not tasks:
            return []
        timeout = float(timeout) if timeout and float(timeout) > 0 else 5.0
        want = max(1, min(int(workers or self.size), self.size, len(tasks)))
        held, n_new = self._acquire(want)
        batch = _Batch(self, tasks, timeout, keys)
        try:
            batch.adopt(held, n_new)
            batch.loop()
        finally:
            batch.finish()
        return [r if r is not None else TaskResult("crash", "not run") for r in batch.results]


def close_all_pools() -> None:
    """Close every pool of this process and its fork host (registered with ``atexit``)."""
    for pool in list(_POOLS):
        try:
            pool.close()
        except Exception:
            pass
    close_fork_host()


atexit.register(close_all_pools)
