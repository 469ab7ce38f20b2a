"""Ray execution: engine actors that each process whole shards, fed by a driver loop.

Each actor builds its engine inside the worker (distilabel's ``load()`` pattern) and keeps
it for every shard it gets, so all prefixes of a trace meet the same prefix cache. The engine
runs in the actor's engine loop (``engines.feeder``), and the driver keeps ``shards_per_actor``
shards in flight on each actor, so while one shard waits on its last verdicts the next one
already fills the batch. Actors are restarted by Ray if they die, and the driver resubmits a
shard whose actor was lost.
"""
from __future__ import annotations

import os
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from data.records import content_id


@dataclass
class PoolConfig:
    actors: int = 0  # 0: auto (1 on CPU, one per GPU group on a cluster)
    num_cpus_per_actor: float = 1.0
    num_gpus_per_actor: float = 0.0
    max_shard_attempts: int = 3
    shards_per_actor: int = 2  # shards in flight on one actor: the next one fills the batch while one finishes
    ray_address: str | None = None
    env: dict[str, str] = field(default_factory=dict)


def init_ray(address: str | None = None, num_cpus: int | None = None) -> None:
    """Attach to ``address`` (e.g. ``auto``) or start a local Ray with a short temp dir."""
    import ray

    if ray.is_initialized():
        return
    if address:
        ray.init(address=address, log_to_driver=False)
        return
    temp_dir = os.path.join(tempfile.gettempdir(), f"ray-{content_id(os.getcwd(), os.getpid(), length=8)}")
    ray.init(num_cpus=num_cpus or os.cpu_count(), include_dashboard=False, log_to_driver=False,
             _temp_dir=temp_dir, configure_logging=False)


class ShardWorker:
    """The actor body: an engine in its engine loop, plus functions ``work(worker, payload) -> dict``.

    ``startup`` records the actor's start: when its process entered the constructor (wall clock),
    and how long importing and building the engine took.
    """

    def __init__(self, engine_name: str, engine_kwargs: dict[str, Any], env: dict[str, str]):
        entered = time.time()
        os.environ.update(env)
        from engines import engine_class
        from engines.feeder import EngineLoop
        from engines.runtime import configure_runtime

        configure_runtime()
        cls = engine_class(engine_name)
        if callable(getattr(cls, "preload", None)):
            cls.preload()
        imported = time.time()
        # The loop's thread builds the engine and is the only one to step it.
        self.loop = EngineLoop.build(lambda: cls(**engine_kwargs))
        self.engine = self.loop.engine
        self.cache: dict[str, Any] = {}  # what work functions keep across shards (e.g. a grader)
        self.startup = {"entered_at": entered, "engine_import_s": round(imported - entered, 3),
                        "engine_build_s": round(time.time() - imported, 3), "engine_ready_at": time.time(),
                        "pid": os.getpid()}
        self.engine_id = f"{os.getpid()}@{entered:.3f}"

    def run(self, work: Callable, shard_index: int, payload: Any) -> dict:
        import ray

        result = work(self, payload)
        result["shard_index"] = shard_index
        result["node_id"] = ray.get_runtime_context().get_node_id()
        result["worker_pid"] = os.getpid()
        result["engine_id"] = self.engine_id
        result["engine"] = {**self.loop.snapshot(), "startup": self.startup}
        return result

    def pid(self) -> int:
        return os.getpid()

    def node_id(self) -> str:
        import ray

        return ray.get_runtime_context().get_node_id()


class ActorPool:
    """Feed shards to engine actors; results come back in completion order to ``on_result``."""

    def __init__(self, engine_name: str, engine_kwargs: dict[str, Any], cfg: PoolConfig):
        import ray

        self.cfg = cfg
        self.created_at = time.time()
        remote_cls = ray.remote(
            num_cpus=cfg.num_cpus_per_actor, num_gpus=cfg.num_gpus_per_actor, max_restarts=-1, max_task_retries=-1,
            max_concurrency=max(1, cfg.shards_per_actor),
        )(ShardWorker)
        self.actors = [remote_cls.remote(engine_name, engine_kwargs, cfg.env) for _ in range(cfg.actors)]

    def run(self, work: Callable, shards: Iterable[tuple[int, Any]], on_result: Callable[[dict], None]) -> None:
        import ray
        from ray.exceptions import RayActorError, RayTaskError

        pending = deque(shards)
        attempts: dict[int, int] = {}
        payloads: dict[int, Any] = {}
        load = {i: 0 for i in range(len(self.actors))}  # shards in flight per actor
        in_flight: dict[Any, tuple[int, int]] = {}
        per_actor = max(1, self.cfg.shards_per_actor)
        while pending or in_flight:
            while pending and min(load.values()) < per_actor:
                a = min(load, key=load.get)  # the least loaded actor
                index, payload = pending.popleft()
                payloads[index] = payload
                load[a] += 1
                in_flight[self.actors[a].run.remote(work, index, payload)] = (index, a)
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            index, a = in_flight.pop(ready[0])
            load[a] -= 1
            try:
                result = ray.get(ready[0])
            except (RayActorError, RayTaskError) as err:
                attempts[index] = attempts.get(index, 0) + 1
                if attempts[index] >= self.cfg.max_shard_attempts:
                    raise RuntimeError(f"shard {index} failed {attempts[index]} times: {err}") from err
                pending.appendleft((index, payloads[index]))
                continue
            payloads.pop(index, None)
            on_result(result)

    def shutdown(self) -> None:
        import ray

        for actor in self.actors:
            ray.kill(actor, no_restart=True)
        self.actors = []
