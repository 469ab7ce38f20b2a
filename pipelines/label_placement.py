"""Where a label run's work goes on the cluster: how many engine actors, their threads and reservations,
and whether grading runs as Ray tasks or on the actors' own threads.
"""
from __future__ import annotations

from dataclasses import asdict

from engines.ray_pool import PoolConfig


def auto_pool(pool: PoolConfig, engine_kwargs: dict) -> PoolConfig:
    """On a cluster with GPUs: one actor per ``tensor_parallel_size`` GPUs unless told otherwise. Without GPUs,
    each engine actor's torch threads take its share of a node's cores (Ray would give it one), and the actor
    reserves those cores, so grading goes to Ray tasks only on cores no engine uses (else to the actor's
    own threads): grading tasks on cores the engine's threads use slowed its steps."""
    import ray

    gpus = int(ray.cluster_resources().get("GPU", 0))
    if gpus and pool.num_gpus_per_actor == 0:
        tp = int(engine_kwargs.get("tensor_parallel_size", 1))
        pool = PoolConfig(**{**asdict(pool), "num_gpus_per_actor": tp, "actors": pool.actors or max(1, gpus // tp)})
    pool = PoolConfig(**{**asdict(pool), "actors": pool.actors or 1})
    if not gpus and "OMP_NUM_THREADS" not in pool.env:
        node_cpus = [n["Resources"].get("CPU", 0) for n in ray.nodes() if n.get("Alive")]
        threads = cpu_threads_per_actor(node_cpus, pool.actors)
        pool = PoolConfig(**{**asdict(pool), "num_cpus_per_actor": max(pool.num_cpus_per_actor, threads),
                             "env": {**pool.env, "OMP_NUM_THREADS": str(threads)}})
    return pool


def cpu_threads_per_actor(node_cpus: list[float], actors: int) -> int:
    """Torch threads of a CPU engine actor: the cluster's cores spread over the actors, at most one node's,
    and few enough that every actor still fits on a node when it reserves that many CPUs.

    The engine is the main consumer of a CPU node (verdicts took a few percent of it), and one
    2-thread engine generated 1.35x the tokens/s of a 1-thread one on the 2-core dev box.

    >>> cpu_threads_per_actor([2.0], 1), cpu_threads_per_actor([2.0], 2), cpu_threads_per_actor([1.0, 1.0], 2)
    (2, 1, 1)
    >>> cpu_threads_per_actor([16.0, 16.0], 1), cpu_threads_per_actor([16.0, 16.0], 4)
    (16, 8)
    >>> cpu_threads_per_actor([3.0, 3.0], 3)  # 2 threads each would place only two actors
    1
    """
    actors = max(1, actors)
    if not node_cpus:
        return 1
    for threads in range(int(min(max(node_cpus), sum(node_cpus) // actors)), 1, -1):
        if sum(int(cpus // threads) for cpus in node_cpus) >= actors:
            return threads
    return 1


def grading_plan(pool: PoolConfig) -> dict:
    """Ray CPU tasks on the CPUs that the engine actors leave free; the actors' own threads when none are."""
    import ray

    free = int(ray.cluster_resources().get("CPU", 0) - pool.actors * pool.num_cpus_per_actor)
    return {"grader": "ray" if free >= 1 else "threads", "cpus": max(0, free)}


def warm_grading(cpus: int) -> None:
    """Start the grading workers now (they import the verifiers) rather than at the first verdict."""
    from labelers.grading import RayGrader

    grader = RayGrader(check_arithmetic=True, timeout=5.0)
    for _ in range(max(1, min(cpus, 4))):
        grader.submit([("The answer is 1", "1", "")], lambda result: None)
