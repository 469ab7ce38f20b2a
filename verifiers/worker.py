"""The loop that runs inside a verifier worker process.

The parent sends ``(task_id, op, args)``; the worker answers ``(task_id, ok, value)``.
Only the operations in :data:`OPS` exist, so the pipe cannot be used to run other code.
The worker caps its own memory (``RLIMIT_AS``), ignores SIGINT, and exits when its
parent goes away. :func:`warm` imports sympy and math-verify; the fork host
(:mod:`.forkhost`) calls it once, so a forked replacement worker starts in milliseconds.
:func:`main` runs one worker on its own (the ``spawn`` start method of :mod:`.launch`).

Example (in-process, what a worker does with one task):
    >>> run_task("equiv", ("1/2", "0.5"))
    True
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from typing import Any, Callable

OPS: dict[str, Callable[..., Any]] = {}


def _register() -> None:
    from .baseline import math_verify_alone
    from .equivalence import check_equivalence

    OPS["equiv"] = check_equivalence  # (pred, gold[, backend])
    OPS["math_verify_alone"] = math_verify_alone  # the baseline, for bench/verifier_agreement.py
    OPS["sleep"] = _sleep  # test hook: a task that is stuck on purpose
    OPS["crash"] = _crash  # test hook: a worker that dies mid-task
    OPS["pid"] = os.getpid  # test hook: which worker ran this


def _sleep(seconds: float) -> bool:
    time.sleep(float(seconds))
    return True


def _crash(code: int = 3) -> None:
    os._exit(int(code))


def warm() -> None:
    """Import the heavy modules once (sympy, latex2sympy, math-verify) and parse once."""
    try:
        from . import equivalence, symbolic

        symbolic.symbolic_equal("\\frac{1}{2}x", "0.5x")
        equivalence.check_equivalence("\\sin^2 x", "1-\\cos^2 x")
    except Exception:  # pragma: no cover - a broken install shows up as wrong verdicts
        pass


def run_task(op: str, args: tuple) -> Any:
    """Run one registered operation in this process.

    Example:
        >>> run_task("equiv", ("x = 5", "5"))
        True
    """
    if not OPS:
        _register()
    return OPS[op](*args)


def _limit_memory(limit_bytes: int | None) -> None:
    if not limit_bytes:
        return
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        new = limit_bytes if hard == resource.RLIM_INFINITY else min(limit_bytes, hard)
        resource.setrlimit(resource.RLIMIT_AS, (new, hard))
    except Exception:
        pass


def _die_with_parent(parent_pid: int) -> None:
    """Exit when the process that asked for this worker is gone (no orphans)."""
    if sys.platform.startswith("linux") and os.getppid() != parent_pid:
        # Forked by the (single-threaded) forkserver, which exits with our parent:
        # PDEATHSIG then kills us even while a C call holds the GIL. (Not used when
        # the parent is the caller itself: its forking thread may exit before it.)
        try:
            import ctypes

            ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except Exception:
            pass

    def watch() -> None:
        while True:
            time.sleep(0.5)
            try:
                os.kill(parent_pid, 0)
            except ProcessLookupError:
                os._exit(0)
            except PermissionError:
                pass

    threading.Thread(target=watch, name="verifier-parent-watch", daemon=True).start()


def worker_main(conn: Any, parent_pid: int, memory_limit: int | None) -> None:
    """Serve tasks on ``conn`` until EOF. Started by :class:`verifiers.pool.VerifierPool`."""
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except Exception:
        pass
    _die_with_parent(parent_pid)
    _limit_memory(memory_limit)
    _register()
    warm()
    conn.send(("ready", True, os.getpid()))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        task_id, op, args = msg
        try:
            value, ok = run_task(op, args), True
        except MemoryError:
            conn.send((task_id, False, "MemoryError"))
            return  # the heap may be in a bad state: let the pool start a fresh worker
        except RecursionError:
            value, ok = "RecursionError", False
        except Exception as e:  # any error is a verdict, never a crash
            value, ok = f"{type(e).__name__}: {e}"[:200], False
        try:
            conn.send((task_id, ok, value))
        except Exception:
            return



def main(fd: int, parent_pid: int, memory_limit: int) -> None:
    """Serve tasks on the socket ``fd`` (a worker started on its own, not forked)."""
    from multiprocessing.connection import Connection

    worker_main(Connection(fd), parent_pid, memory_limit or None)
