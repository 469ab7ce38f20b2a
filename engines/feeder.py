"""A continuous feeder: one thread owns an engine and keeps its batch full while clients wait on other work.

Clients (one per shard being labeled) submit tagged requests at any time and read the completions
from their own queue. An engine that can step (``VLLMEngine``: ``submit``/``step``/``busy``) admits
new requests at every decoding step, so a trace whose verdicts just came in has its next prefix in
the batch one step later; any other engine is fed through :class:`BatchStream`, one ``generate``
call per submission, never merged: an engine whose samples depend on the batch they were drawn in
(``batch_invariant`` false, e.g. transformers, which seeds per batch) then draws exactly the batches
its client submitted.

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
from typing import Any, Hashable, Sequence

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

    def step(self) -> list[tuple[int, list[Completion]]]:
        """The oldest submission, in one ``generate`` call."""
        group = self._pending.pop(0)
        outputs = self.engine.generate([r for _, r in group])
        return [(i, out) for (i, _), out in zip(group, outputs)]


def as_stream(engine):
    """The engine itself where it can step, else a :class:`BatchStream` over it."""
    if all(callable(getattr(engine, m, None)) for m in ("submit", "step", "busy")):
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
        """Add an event of the client's own (e.g. a verdict) to its queue."""
        self.events.put((kind, payload))

    def get(self, timeout: float | None = None) -> tuple[str, Any]:
        """The next event: ``("generated", [(key, completions), ...])`` or an own event; raises the loop's error."""
        return _checked(self.events.get(timeout=timeout))

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
    """Owns ``engine`` in one thread and feeds it from every open client (thread-safe)."""

    def __init__(self, engine):
        self.engine = engine
        self.stream = as_stream(engine)
        self.stats = LoopStats(started_at=time.time())
        self._cond = threading.Condition()
        self._inbox: list[tuple[Client, list[tuple[Hashable, GenRequest]]]] = []  # submissions, in order
        self._owners: dict[Any, tuple[Client, Hashable]] = {}
        self._clients: set[Client] = set()
        self._closed = False
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._step_lock = threading.Lock()  # held while the engine steps: a snapshot sees it between steps
        self._waiting: tuple[float, str] | None = None  # since when, and as which kind of wait, the loop idles

    def client(self) -> Client:
        with self._cond:
            if self._error is not None:
                raise RuntimeError(f"engine loop failed: {self._error}") from self._error
            client = Client(self)
            self._clients.add(client)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="engine-loop", daemon=True)
                self._thread.start()
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

    def _enqueue(self, client: Client, items: Sequence[tuple[Hashable, GenRequest]]) -> None:
        with self._cond:
            if self._error is not None:
                raise RuntimeError(f"engine loop failed: {self._error}") from self._error
            self._inbox.append((client, list(items)))
            self._cond.notify_all()

    def _release(self, client: Client) -> None:
        with self._cond:
            self._clients.discard(client)
            self._cond.notify_all()

    def _next_batch(self) -> list[tuple[Client, list[tuple[Hashable, GenRequest]]]] | None:
        """Wait until there is input or engine work (counting the idle time); None once closed and drained."""
        with self._cond:
            while not self._inbox and not self.stream.busy() and not self._closed:
                self._waiting = (time.perf_counter(), "wait_clients_s" if self._clients else "wait_input_s")
                self._cond.wait()
                start, field_name = self._waiting
                self._waiting = None
                setattr(self.stats, field_name, getattr(self.stats, field_name) + time.perf_counter() - start)
            if self._closed and not self._inbox and not self.stream.busy():
                return None
            batch, self._inbox = self._inbox, []
            return batch

    def _run(self) -> None:
        try:
            while (submissions := self._next_batch()) is not None:
                for client, items in submissions:
                    with self._step_lock:
                        ids = self.stream.submit([request for _, request in items])
                    self._owners.update((i, (client, key)) for i, (key, _) in zip(ids, items))
                    self.stats.requests += len(items)
                if self.stream.busy():
                    self._step()
        except BaseException as err:  # every waiting client must hear of it
            with self._cond:
                self._error = err
                clients = list(self._clients)
            for client in clients:
                client.put("error", err)

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
            client, key = self._owners.pop(ticket)
            by_client.setdefault(client, []).append((key, completions))
        for client, results in by_client.items():
            client.put("generated", results)
