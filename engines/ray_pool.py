"""Ray execution: engine actors that each process whole shards, fed by a driver loop.

Each actor builds its engine inside the worker (distilabel's ``load()`` pattern) and keeps
it for every shard it gets, so all prefixes of a trace meet the same prefix cache. Actors are
restarted by Ray if they die, and the driver resubmits a shard whose actor was lost.
"""
from __future__ import annotations

import os
import tempfile
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
    """The actor body: an engine plus a function ``work(engine, payload) -> dict``."""

    def __init__(self, engine_name: str, engine_kwargs: dict[str, Any], env: dict[str, str]):
        os.environ.update(env)
        from engines import make_engine
        from engines.runtime import configure_runtime

        configure_runtime()
        self.engine = make_engine(engine_name, **engine_kwargs)

    def run(self, work: Callable, shard_index: int, payload: Any) -> dict:
        import ray

        result = work(self.engine, payload)
        result["shard_index"] = shard_index
        result["node_id"] = ray.get_runtime_context().get_node_id()
        result["worker_pid"] = os.getpid()
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
        remote_cls = ray.remote(
            num_cpus=cfg.num_cpus_per_actor, num_gpus=cfg.num_gpus_per_actor, max_restarts=-1, max_task_retries=-1,
        )(ShardWorker)
        self.actors = [remote_cls.remote(engine_name, engine_kwargs, cfg.env) for _ in range(cfg.actors)]

    def run(self, work: Callable, shards: Iterable[tuple[int, Any]], on_result: Callable[[dict], None]) -> None:
        import ray
        from ray.exceptions import RayActorError, RayTaskError

        pending = deque(shards)
        attempts: dict[int, int] = {}
        payloads: dict[int, Any] = {}
        idle = list(self.actors)
        in_flight: dict[Any, tuple[int, Any]] = {}
        while pending or in_flight:
            while idle and pending:
                index, payload = pending.popleft()
                payloads[index] = payload
                actor = idle.pop()
                in_flight[actor.run.remote(work, index, payload)] = (index, actor)
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            index, actor = in_flight.pop(ready[0])
            idle.append(actor)
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
