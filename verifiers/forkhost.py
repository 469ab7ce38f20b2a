"""The fork host: :func:`main` in its own interpreter (started by :mod:`.launch`).

It imports and warms sympy and math-verify once, says ``R`` on the socket ``FD``, then
serves requests: each carries a memory limit, the caller's pid and (``SCM_RIGHTS``) one
end of a socket pair. It forks a worker that serves :func:`verifiers.worker.worker_main`
on that socket and answers the worker's pid. Single-threaded, so forking is safe. It exits
when the caller closes the socket or dies, and its workers die with it.
"""

from __future__ import annotations

import os
import signal
import socket
import struct
import sys

_REQUEST = struct.Struct("qq")
_REPLY = struct.Struct("q")


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except Exception:
            pass


def _serve_worker(sock: socket.socket, fd: int, memory_limit: int, parent_pid: int) -> None:
    from multiprocessing.connection import Connection

    from .worker import worker_main

    try:
        sock.close()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        worker_main(Connection(fd), parent_pid, memory_limit or None)
    finally:
        os._exit(0)


def main(fd: int) -> None:
    """Serve fork requests on socket ``fd`` until it closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # workers are reaped by the kernel
    _die_with_parent()
    sock = socket.socket(fileno=fd)
    from .worker import warm

    warm()
    sock.sendall(b"R")
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(sock, _REQUEST.size, 1)
            while data and len(data) < _REQUEST.size:
                more = sock.recv(_REQUEST.size - len(data))
                if not more:
                    return
                data += more
        except OSError:
            return
        if not data:
            return
        memory_limit, parent_pid = _REQUEST.unpack(data)
        if len(fds) != 1:
            for extra in fds:
                os.close(extra)
            sock.sendall(_REPLY.pack(-1))
            continue
        try:
            pid = os.fork()
        except OSError:
            os.close(fds[0])
            sock.sendall(_REPLY.pack(-1))
            continue
        if pid == 0:
            _serve_worker(sock, fds[0], memory_limit, parent_pid)
        os.close(fds[0])
        sock.sendall(_REPLY.pack(pid))
