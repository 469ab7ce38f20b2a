"""A continuous feeder: one thread owns an engine and keeps its batch full while clients wait on other work.

Clients (one per shard being labeled) submit tagged requests at any time and read the completions
from their own queue. An engine that can step (``VLLMEngine``: ``submit``/``step``/``busy``) admits
new requests at every decoding step, so a trace whose verdicts just came in has its next prefix in
the batch one step later; any other engine is fed through :class:`BatchStream`, one ``generate``
call per submission, never merged: an engine whose samples depend on the batch they were drawn in
(``batch_invariant`` false, e.g. transformers, which seeds per batch) then draws exactly the batches
its client submitted.

The engine is stepped only by the thread that built it (vLLM on CPU binds that thread's OpenMP
threads and sizes its attention kernels by them). ``EngineLoop(engine)`` is driven inline by its
clients' own ``get`` calls, for an engine built in the caller's thread; ``EngineLoop.build(factory)``
builds the engine in the loop's own thread and steps it there, for clients in any thread.

The loop counts where the engine's time went: stepping, idle while some client is open (its clients
are waiting on something else, e.g. grading) and idle with no client (waiting for input).

>>> from engines.base import Completion, GenRequest
>>> class Echo:
...     name = "echo"
...     def generate(self, requests):
...         return [[Completion(r.prompt.upper(), 1, "stop")] * r.n for r in requests]
>>> loop = EngineLoop(Echo())
>>> client = loop.client()
>>> client.submit([("a", GenRequest("hi", n=2))])
>>> kind, results = client.get()
>>> kind, results[0][0], [c.text for c in results[0][1]]
('generated', 'a', ['HI', 'HI'])
>>> client.close(); loop.close()
"""
from __future__ import annotations

import queue
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable, Hashable, Sequence

from engines.base import Completion, GenRequest


class BatchStream:
    """The stepping interface over an engine that only has a batch ``generate``: one step, one call."""

    def __init__(self, engine):
        self.engine = engine
        self._pending: list[list[tuple[int, GenRequest]]] = []  # one entry per submission
        self._next = 0

    def submit(self, requests: Sequence[GenRequest]) -> list[int]:
        ids = list(range(self._next, self._next + len(requests)))
        self._next += len(requests)
        self._pending.append(list(zip(ids, requests)))
        return ids

    def busy(self) -> bool:
        return bool(self._pending)

    def abort(self, ids: Sequence[int]) -> None:
        drop = set(ids)
        self._pending = [group for group in ([(i, r) for i, r in g if i not in drop] for g in self._pending) if group]

    def step(self) -> list[tuple[int, list[Completion]]]:
        """The oldest submission, in one ``generate`` call."""
        group = self._pending.pop(0)
        outputs = self.engine.generate([r for _, r in group])
        return [(i, out) for (i, _), out in zip(group, outputs)]


def as_stream(engine):
    """The engine itself where it can step, else a :class:`BatchStream` over it."""
    if all(callable(getattr(engine, m, None)) for m in ("submit", "step", "busy", "abort")):
        return engine
    return BatchStream(engine)


@dataclass
class LoopStats:
    """Where one engine loop's seconds went (cumulative over its life)."""

    step_s: float = 0.0  # inside the engine's step/generate
    wait_clients_s: float = 0.0  # idle while a client was open: its shards were waiting (on grading)
    wait_input_s: float = 0.0  # idle with no client open: waiting for the next shard
    steps: int = 0
    requests: int = 0
    first_output_at: float | None = None  # wall-clock time of the first finished request
    started_at: float = 0.0


class Client:
    """One consumer of the loop: ``submit`` tagged requests, ``get`` events from its queue."""

    def __init__(self, loop: "EngineLoop"):
        self._loop = loop
        self.events: "queue.Queue[tuple[str, Any]]" = queue.Queue()

    def submit(self, items: Sequence[tuple[Hashable, GenRequest]]) -> None:
        """Queue ``(key, request)`` pairs; they join the engine's batch together, in this order."""
        self._loop._enqueue(self, items)

    def put(self, kind: str, payload: Any) -> None:
        """Add an event of the client's own (e.g. a verdict) to its queue; any thread may call it."""
        self.events.put((kind, payload))
        self._loop._wake()

    def get(self) -> tuple[str, Any]:
        """The next event: ``("generated", [(key, completions), ...])`` or an own event; raises the loop's error."""
        if self._loop._thread is not None:
            return _checked(self.events.get())
        return self._loop._drive(self)

    def drain(self) -> list[tuple[str, Any]]:
        """Every event already queued, without waiting."""
        out = []
        while True:
            try:
                out.append(_checked(self.events.get_nowait()))
            except queue.Empty:
                return out

    def close(self) -> None:
        self._loop._release(self)


def _checked(event: tuple[str, Any]) -> tuple[str, Any]:
    kind, payload = event
    if kind == "error":
        raise RuntimeError(f"engine loop failed: {payload!r}") from payload
    return event


class EngineLoop:
    """Feeds one engine from every open client (thread-safe); inline, or in its own thread (``build``)."""

    def __init__(self, engine):
        self.engine = engine
        self.stream = as_stream(engine) if engine is not None else None
        self.stats = LoopStats(started_at=time.time())
        self._cond = threading.Condition()
        self._inbox: list[tuple[Client, list[tuple[Hashable, GenRequest]]]] = []  # submissions, in order
        self._owners: dict[Any, tuple[Client, Hashable]] = {}
        self._dropped: set[Any] = set()  # requests of closed clients: aborted, or finished unread
        self._aborted: set[Any] = set()
        self._clients: set[Client] = set()
        self._closed = False
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._drive_lock = threading.Lock()  # inline: one client thread drives the engine at a time
        self._step_lock = threading.Lock()  # held while the engine steps: a snapshot sees it between steps
        self._waiting: tuple[float, str] | None = None  # since when, and as which kind of wait, the loop idles

    @classmethod
    def build(cls, factory: Callable[[], Any]) -> "EngineLoop":
        """Build the engine with ``factory()`` in a new thread, which then runs the loop; returns once built."""
        loop = cls(None)
        built = threading.Event()

        def run() -> None:
            try:
                loop.engine = factory()
                loop.stream = as_stream(loop.engine)
            except BaseException as err:
                loop._error = err
                return
            finally:
                built.set()
            loop._run()

        loop._thread = threading.Thread(target=run, name="engine-loop", daemon=True)
        loop._thread.start()
        built.wait()
        if loop._error is not None:
            raise loop._error
        return loop

    def client(self) -> Client:
        with self._cond:
            self._raise_if_failed()
            client = Client(self)
            self._clients.add(client)
        return client

    def snapshot(self) -> dict:
        """The loop's counters, plus the engine's prefix-cache report where it has one, taken between steps."""
        with self._step_lock:
            out = asdict(self.stats)
            with self._cond:
                if self._waiting is not None:  # count the wait in progress too
                    out[self._waiting[1]] += time.perf_counter() - self._waiting[0]
            report = getattr(self.engine, "prefix_cache_report", None)
            if callable(report):
                out["prefix_cache"] = report()
        return out

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()
        elif self.stream is not None:
            with self._drive_lock:  # inline: the closing thread is the one that drives
                self._abort_dropped()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise RuntimeError(f"engine loop failed: {self._error!r}") from self._error

    def _enqueue(self, client: Client, items: Sequence[tuple[Hashable, GenRequest]]) -> None:
        with self._cond:
            self._raise_if_failed()
            self._inbox.append((client, list(items)))
            self._cond.notify_all()

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _release(self, client: Client) -> None:
        """A closed client's requests leave the engine (a shard that failed midway leaves none behind)."""
        with self._cond:
            self._clients.discard(client)
            self._inbox = [(c, items) for c, items in self._inbox if c is not client]
            for ticket in [t for t, (c, _) in self._owners.items() if c is client]:
                del self._owners[ticket]
                self._dropped.add(ticket)
            self._cond.notify_all()

    def _abort_dropped(self) -> None:
        with self._cond:
            unread = [t for t in self._dropped if t not in self._aborted]
            self._aborted.update(unread)
        if unread:
            with self._step_lock:
                self.stream.abort(unread)

    def _take(self, client: Client | None = None) -> list | None:
        """Wait for input or engine work (inline: or an event of ``client``), counting the idle time; the queued
        submissions; None once closed and drained."""
        with self._cond:
            while (not self._inbox and not self.stream.busy() and not self._closed
                   and (client is None or client.events.empty())):
                self._waiting = (time.perf_counter(), "wait_clients_s" if self._clients else "wait_input_s")
                self._cond.wait()
                start, field_name = self._waiting
                self._waiting = None
                setattr(self.stats, field_name, getattr(self.stats, field_name) + time.perf_counter() - start)
            if self._closed and not self._inbox and not self.stream.busy():
                return None
            submissions, self._inbox = self._inbox, []
            return submissions

    def _advance(self, submissions: list) -> None:
        self._abort_dropped()
        for client, items in submissions:
            with self._step_lock:
                ids = self.stream.submit([request for _, request in items])
            self._owners.update((i, (client, key)) for i, (key, _) in zip(ids, items))
            self.stats.requests += len(items)
        if self.stream.busy():
            self._step()

    def _run(self) -> None:
        """The loop's own thread (``build``)."""
        try:
            while (submissions := self._take()) is not None:
                self._advance(submissions)
        except BaseException as err:
            self._fail(err)

    def _drive(self, client: Client) -> tuple[str, Any]:
        """Inline: step the engine in the calling thread until ``client`` has an event."""
        while True:
            try:
                return _checked(client.events.get_nowait())
            except queue.Empty:
                pass
            if not self._drive_lock.acquire(timeout=0.01):
                continue  # another client's thread is driving; look at our queue again
            try:
                self._raise_if_failed()
                submissions = self._take(client)
                if submissions is None:
                    raise RuntimeError("engine loop closed")
                self._advance(submissions)
            except BaseException as err:
                self._fail(err)
                raise
            finally:
                self._drive_lock.release()

    def _fail(self, err: BaseException) -> None:
        """Every open client must hear of it."""
        with self._cond:
            if self._error is None:
                self._error = err
            clients = list(self._clients)
        for client in clients:
            client.events.put(("error", err))
        self._wake()

    def _step(self) -> None:
        with self._step_lock:
            start = time.perf_counter()
            finished = self.stream.step()
            self.stats.step_s += time.perf_counter() - start
            self.stats.steps += 1
            if finished and self.stats.first_output_at is None:
                self.stats.first_output_at = time.time()
        by_client: dict[Client, list] = {}
        for ticket, completions in finished:
            if ticket in self._dropped:
                continue  # its client closed while it ran
            client, key = self._owners.pop(ticket)
            by_client.setdefault(client, []).append((key, completions))
        for client, results in by_client.items():
            client.events.put(("generated", results))
