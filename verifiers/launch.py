"""Starting verifier worker processes without re-importing the caller's ``__main__``.

``multiprocessing``'s ``spawn`` and ``forkserver`` start a child by re-running the main
module, which fails from ``python -`` (standard input), breaks notebooks and re-runs an
unguarded script. The workers here never need the caller's code, so they start from
``python -m`` with plain pipes:

* ``forkhost`` (default where ``os.fork`` exists): one helper process per caller,
  ``python -m verifiers.forkhost``, imports sympy and math-verify once and forks a worker
  on request. The caller passes it one end of a socket pair (``SCM_RIGHTS``), so a
  replacement worker is ready in milliseconds. The helper is single-threaded, so forking
  it is safe even when the caller is a threaded Ray actor or vLLM engine.
* ``spawn``: each worker is its own ``python -m verifiers.worker`` (slower to start:
  it imports sympy itself).

Both run the interpreter in isolated mode (``-I``) with the caller's ``sys.path``, the
package's own location first, so they import the same code as the caller whatever the
current directory holds.

Example:
    >>> default_start_method() in ("forkhost", "spawn")
    True
"""

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

START_METHODS = ("forkhost", "spawn")
_REQUEST = struct.Struct("qq")  # memory limit in bytes (0: none), pid of the caller
_REPLY = struct.Struct("q")  # pid of the new worker, or -1


class VerifierUnavailable(RuntimeError):
    """No verifier worker process could be started or kept alive; no verdict was computed."""


def default_start_method() -> str:
    """``PRM_VERIFIER_START_METHOD`` if set, else ``forkhost`` where ``os.fork`` exists, else ``spawn``.

    ``forkserver`` (the name of the older default) means ``forkhost``.
    """
    env = os.environ.get("PRM_VERIFIER_START_METHOD", "").strip()
    if env:
        return "forkhost" if env == "forkserver" else env
    return "forkhost" if hasattr(os, "fork") and hasattr(socket, "send_fds") else "spawn"


def _child_paths() -> list[str]:
    root = str(Path(__file__).resolve().parent.parent)
    return [root] + [p for p in sys.path if p and os.path.isdir(p) and p != root]


def _python(call: str) -> list[str]:
    """The command line that runs ``call`` in a fresh isolated interpreter with our ``sys.path``."""
    code = f"import sys; sys.path[:0] = {_child_paths()!r}; {call}"
    return [sys.executable, "-I", "-W", "ignore", "-c", code]


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a live process (Linux ``/proc``), else ``None``.

    Example:
        >>> cpu_seconds(os.getpid()) >= 0
        True
    """
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


@dataclass(eq=False)
class WorkerProcess:
    """A started worker: its pid, the caller's end of its pipe, and how to stop it."""

    pid: int
    conn: Any
    popen: subprocess.Popen | None = None

    def is_alive(self) -> bool:
        if self.popen is not None:
            return self.popen.poll() is None
        try:
            os.kill(self.pid, 0)
            return True
        except ProcessLookupError:
            return False
        except PermissionError:
            return True

    def kill(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def join(self, timeout: float) -> None:
        if self.popen is not None:
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
            return
        end = time.monotonic() + timeout
        while self.is_alive() and time.monotonic() < end:
            time.sleep(0.01)


def _start_error(what: str, proc: subprocess.Popen, errfile: Any, why: str) -> VerifierUnavailable:
    try:
        errfile.seek(0)
        tail = errfile.read().decode(errors="replace")[-1500:].strip()
    except Exception:
        tail = ""
    code = proc.poll()
    detail = f" (exit code {code})" if code is not None else ""
    return VerifierUnavailable(
        f"the verifier's {what} did not start: {why}{detail}. "
        f"It runs verifiers.{what} in `{sys.executable}`; check that this interpreter can import "
        f"verifiers, sympy and math_verify." + (f"\n{tail}" if tail else "")
    )


class ForkHost:
    """The helper process that forks workers (see module doc). One per caller process."""

    def __init__(self, startup_timeout: float) -> None:
        self.owner = os.getpid()
        self._lock = threading.Lock()
        mine, theirs = socket.socketpair()
        self._errfile = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            _python(f"from verifiers.forkhost import main; main({theirs.fileno()})"),
            pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=self._errfile, close_fds=True,
        )
        theirs.close()
        self.sock = mine
        try:
            mine.settimeout(startup_timeout)
            ready = mine.recv(1)
        except OSError as e:
            self.close()
            raise _start_error("forkhost", self.proc, self._errfile, f"no answer within {startup_timeout:g}s ({e})")
        if ready != b"R":
            self.close()
            raise _start_error("forkhost", self.proc, self._errfile, "it exited during start-up")
        mine.settimeout(30.0)

    def alive(self) -> bool:
        return self.proc.poll() is None and self.owner == os.getpid()

    def start_worker(self, memory_limit: int | None) -> WorkerProcess:
        parent, child = socket.socketpair()
        try:
            with self._lock:
                socket.send_fds(self.sock, [_REQUEST.pack(memory_limit or 0, os.getpid())], [child.fileno()])
                reply = b""
                while len(reply) < _REPLY.size:
                    chunk = self.sock.recv(_REPLY.size - len(reply))
                    if not chunk:
                        raise OSError("the fork host closed its socket")
                    reply += chunk
        finally:
            child.close()
        (pid,) = _REPLY.unpack(reply)
        if pid <= 0:
            parent.close()
            raise OSError("the fork host could not fork")
        return WorkerProcess(pid, Connection(parent.detach()))

    def close(self) -> None:
        try:
            self.sock.close()
        except Exception:
            pass
        try:
            self.proc.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=2.0)
        except Exception:
            pass
        try:
            self._errfile.close()
        except Exception:
            pass


_host: ForkHost | None = None
_host_lock = threading.Lock()


def fork_host(startup_timeout: float) -> ForkHost:
    """The caller's fork host, started (or restarted after it died) on demand."""
    global _host
    with _host_lock:
        if _host is None or not _host.alive():
            if _host is not None and _host.owner == os.getpid():
                _host.close()
            _host = ForkHost(startup_timeout)
        return _host


def close_fork_host() -> None:
    """Stop the fork host (workers it forked keep running until their pool closes them)."""
    global _host
    with _host_lock:
        host, _host = _host, None
    if host is not None and host.owner == os.getpid():
        host.close()


def spawn_worker(memory_limit: int | None) -> WorkerProcess:
    """A worker in a fresh interpreter (``verifiers.worker.main``)."""
    parent, child = socket.socketpair()
    try:
        call = f"from verifiers.worker import main; main({child.fileno()}, {os.getpid()}, {memory_limit or 0})"
        popen = subprocess.Popen(_python(call), pass_fds=(child.fileno(),), stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, close_fds=True)
    finally:
        child.close()
    return WorkerProcess(popen.pid, Connection(parent.detach()), popen)


def start_worker(method: str, memory_limit: int | None, startup_timeout: float) -> WorkerProcess:
    """Start one worker with ``method`` (``forkhost`` or ``spawn``)."""
    if method == "forkhost":
        return fork_host(startup_timeout).start_worker(memory_limit)
    if method == "spawn":
        return spawn_worker(memory_limit)
    raise ValueError(f"start_method must be one of {START_METHODS}, got {method!r}")
