"""``prm-factory label``: validate traces, shard them, label shards on Ray engine actors, write Parquet.

Output layout of ``DIR``:
``labels/shard-NNNNN.parquet`` (StepLabels), ``rollouts/shard-NNNNN.parquet`` (Rollout),
``done/shard-NNNNN.json`` (the marker written last), ``rejected/rejected.jsonl``,
``manifest.json`` and ``stats.json``. A shard's files are written to temporary names and
renamed, then marked done; a rerun of the same command skips done shards.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from data.parquet_io import read_rows, write_json_atomic, write_rows_atomic
from data.records import Rollout, StepLabels, Trace, content_id
from labelers.metrics import label_quality
from labelers.rounds import LabelConfig, label_shard
from engines.ray_pool import ActorPool, PoolConfig, init_ray
from pipelines.run_dir import ensure_manifest


@dataclass
class LabelRunConfig:
    traces: str
    out: str
    label: LabelConfig = field(default_factory=LabelConfig)
    engine: str = "vllm"
    engine_kwargs: dict[str, Any] = field(default_factory=dict)
    shard_size: int = 64
    pool: PoolConfig = field(default_factory=PoolConfig)
    max_step_chars: int = 2000
    progress: bool = True


def _label_work(cfg_dict: dict):
    """The function shipped to actors: label one shard with the actor's engine."""
    cfg = LabelConfig(**cfg_dict)

    def work(engine, trace_rows: list[dict]) -> dict:
        traces = [Trace.from_dict(r) for r in trace_rows]
        result = label_shard(engine, traces, cfg)
        return {"labels": result.labels, "rollouts": result.rollouts, "stats": result.stats}

    return work


def split_valid(traces: list[Trace], max_step_chars: int) -> tuple[list[Trace], list[dict]]:
    """Valid traces, and rejection rows ``{trace_id, reason}`` for the rest (duplicates: every copy after the first)."""
    from data.trace_io import validate_trace
    from verifiers.api import gold_answer

    valid, rejected, seen = [], [], set()
    for trace in traces:
        reason = validate_trace(trace, max_step_chars=max_step_chars)
        if reason is None and trace.trace_id in seen:
            reason = "duplicate trace_id"
        if reason is None and gold_answer(trace.gold_answer) is None:
            reason = f"unparseable gold_answer {trace.gold_answer!r}"
        seen.add(trace.trace_id)
        if reason:
            rejected.append({"trace_id": trace.trace_id, "problem_id": trace.problem_id, "reason": reason})
        else:
            valid.append(trace)
    return valid, rejected


def run_label(cfg: LabelRunConfig) -> dict:
    from tqdm import tqdm

    from data.trace_io import load_traces

    start = time.time()
    out = Path(cfg.out)
    traces = load_traces(cfg.traces)  # a wrong schema fails here, before any work
    valid, rejected = split_valid(traces, cfg.max_step_chars)
    identity = {"stage": "label", "traces": content_id([t.trace_id for t in traces]), "label": asdict(cfg.label),
                "engine": cfg.engine, "engine_kwargs": portable_engine_kwargs(cfg.engine_kwargs),
                "shard_size": cfg.shard_size}
    ensure_manifest(out, identity, extra={"traces_path": str(cfg.traces), "schemas": {
        "labels": StepLabels.SCHEMA.to_string(), "rollouts": Rollout.SCHEMA.to_string()}})
    _write_rejected(out, rejected)
    shards = [valid[i:i + cfg.shard_size] for i in range(0, len(valid), cfg.shard_size)]
    todo = [(i, [t.to_dict() for t in shard]) for i, shard in enumerate(shards) if not _done_path(out, i).exists()]

    bar = tqdm(total=len(shards), initial=len(shards) - len(todo), desc="label", unit="shard",
               disable=not cfg.progress)
    live = {"rollouts": 0, "tokens": 0, "t0": time.time()}

    def on_result(result: dict) -> None:
        i = result["shard_index"]
        write_rows_atomic(out / "labels" / f"shard-{i:05d}.parquet", result["labels"], StepLabels.SCHEMA, "StepLabels")
        write_rows_atomic(out / "rollouts" / f"shard-{i:05d}.parquet", result["rollouts"], Rollout.SCHEMA, "Rollout")
        marker = {**result["stats"], "node_id": result["node_id"], "worker_pid": result["worker_pid"],
                  "traces": len(result["labels"])}
        write_json_atomic(_done_path(out, i), marker)
        live["rollouts"] += result["stats"]["rollouts"]
        live["tokens"] += result["stats"]["generated_tokens"]
        elapsed = max(1e-6, time.time() - live["t0"])
        bar.set_postfix(rollouts_s=f"{live['rollouts'] / elapsed:.1f}", tok_s=f"{live['tokens'] / elapsed:.0f}")
        bar.update(1)

    if todo:
        init_ray(cfg.pool.ray_address)
        pool = ActorPool(cfg.engine, cfg.engine_kwargs, auto_pool(cfg.pool, cfg.engine_kwargs))
        try:
            pool.run(_label_work(asdict(cfg.label)), todo, on_result)
        finally:
            pool.shutdown()
    bar.close()
    stats = summarize(out, len(traces), rejected, time.time() - start, len(shards))
    write_json_atomic(out / "stats.json", stats)
    return stats


def portable_engine_kwargs(kwargs: dict) -> dict:
    """The engine settings as a manifest records them: a local model by portable name and content hash."""
    from data.provenance import source_ref

    model = kwargs.get("model")
    if model and Path(model).is_dir():
        return {**kwargs, "model": source_ref(model)}
    return dict(kwargs)


def auto_pool(pool: PoolConfig, engine_kwargs: dict) -> PoolConfig:
    """On a cluster with GPUs: one actor per ``tensor_parallel_size`` GPUs unless told otherwise."""
    import ray

    gpus = int(ray.cluster_resources().get("GPU", 0))
    if gpus and pool.num_gpus_per_actor == 0:
        tp = int(engine_kwargs.get("tensor_parallel_size", 1))
        pool = PoolConfig(**{**asdict(pool), "num_gpus_per_actor": tp, "actors": pool.actors or max(1, gpus // tp)})
    return PoolConfig(**{**asdict(pool), "actors": pool.actors or 1})


def _done_path(out: Path, index: int) -> Path:
    return out / "done" / f"shard-{index:05d}.json"


def _write_rejected(out: Path, rejected: list[dict]) -> None:
    path = out / "rejected" / "rejected.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(".rejected.jsonl.tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in rejected))
    tmp.replace(path)


def summarize(out: Path, n_input: int, rejected: list[dict], wall_s: float, n_shards: int) -> dict:
    """stats.json: totals over done shards, label balance, and quality against gold when known."""
    markers = [json.loads(p.read_text()) for p in sorted((out / "done").glob("shard-*.json"))]
    rows = read_rows(out / "labels") if markers else []
    steps = sum(len(r["labels"]) for r in rows)
    verdicts: dict[str, int] = {}
    for m in markers:
        for k, v in m["verdicts"].items():
            verdicts[k] = verdicts.get(k, 0) + v
    rollouts = sum(m["rollouts"] for m in markers)
    stats = {
        "input_traces": n_input, "rejected": len(rejected), "traces": len(rows), "steps": steps,
        "shards": n_shards, "shards_done": len(markers),
        "rollouts": rollouts, "generated_tokens": sum(m["generated_tokens"] for m in markers),
        "rollouts_per_step": round(rollouts / steps, 4) if steps else 0.0,
        "rounds_max": max((m["rounds"] for m in markers), default=0),
        "generate_s": round(sum(m["generate_s"] for m in markers), 2),
        "verify_s": round(sum(m["verify_s"] for m in markers), 2),
        "verdicts": verdicts, "timeouts": verdicts.get("timeout", 0),
        "lucky_rejected": sum(m.get("lucky_rejected", 0) for m in markers),
        "positive_label_fraction": round(sum(sum(r["labels"]) for r in rows) / steps, 4) if steps else None,
        "nodes": sorted({m["node_id"] for m in markers}),
        "wall_s": round(wall_s, 2),
    }
    stats.update(label_quality(rows))
    return stats
