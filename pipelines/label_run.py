"""``prm-factory label``: validate traces, shard them, label shards on Ray engine actors, write Parquet.

Output layout of ``DIR``:
``labels/shard-NNNNN.parquet`` (StepLabels), ``rollouts/shard-NNNNN.parquet`` (Rollout),
``done/shard-NNNNN.json`` (the marker written last), ``rejected/rejected.jsonl``,
``manifest.json`` and ``stats.json``. A shard's files are written to temporary names and
renamed, then marked done; a rerun of the same command skips done shards.

A fresh run starts Ray and its engine actors in the background while the driver reads and
validates the input, so the engines are built while the traces load; ``prm-factory label`` starts
them even earlier (``start_engines``), before it loads the policy's tokenizer. Verdicts run as Ray CPU
tasks on the CPUs the engine actors leave free (in the actor's own thread pool when none are
left). ``stats.json`` reports the start-up parts, how long the engines waited on grading, and the
prefix-cache hit rate next to the ceiling its requests allow.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from data.parquet_io import read_rows, write_json_atomic, write_rows_atomic
from data.records import Rollout, StepLabels, Trace, content_id
from labelers.metrics import label_quality
from labelers.grading import make_grader
from labelers.rounds import LabelConfig, label_shard
from engines.ray_pool import ActorPool, PoolConfig, init_ray
from pipelines.label_placement import auto_pool, grading_plan, warm_grading
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


def _label_work(cfg_dict: dict, grader: str = "threads"):
    """The function shipped to actors: label one shard on the actor's engine loop, verdicts on ``grader``."""
    cfg = LabelConfig(**cfg_dict)

    def work(worker, trace_rows: list[dict]) -> dict:
        traces = [Trace.from_dict(r) for r in trace_rows]
        key = f"grader:{grader}"
        if key not in worker.cache:
            worker.cache[key] = make_grader(grader, cfg.check_arithmetic, cfg.grade_timeout)
        result = label_shard(worker.engine, traces, cfg, loop=worker.loop, grader=worker.cache[key])
        return {"labels": result.labels, "rollouts": result.rollouts, "stats": result.stats}

    return work


@dataclass
class EngineStart:
    """Ray, the engine actors (building their engines from the moment they exist) and the grading plan."""

    pool: ActorPool | None = None
    grading: dict = field(default_factory=dict)
    times: dict = field(default_factory=dict)
    owns_ray: bool = False
    started_at: float = field(default_factory=time.time)
    request: tuple = ()  # (engine, engine_kwargs, pool config) it was started with

    def abort(self) -> None:
        import ray

        if self.pool is not None:
            self.pool.shutdown()
        if self.owns_ray:
            ray.shutdown()


def start_engines(engine: str, engine_kwargs: dict, pool: PoolConfig) -> EngineStart:
    """Ray up (in this thread: Ray's processes die with the thread that started them), engine actors
    created, a grading worker warmed. Returns at once after ``ray.init``; the engines build meanwhile.
    ``run_label(cfg, started=...)`` takes the result, so a caller can start the engines before it has
    the rest of the run's configuration (the CLI loads the policy's tokenizer meanwhile)."""
    import ray

    started = EngineStart(owns_ray=not ray.is_initialized(), request=(engine, dict(engine_kwargs), pool))
    try:
        t = time.time()
        init_ray(pool.ray_address)
        started.times["ray_init_s"] = round(time.time() - t, 3)
        pool_cfg = auto_pool(pool, engine_kwargs)
        started.pool = ActorPool(engine, engine_kwargs, pool_cfg)
        started.grading = grading_plan(pool_cfg)
        if started.grading["grader"] == "ray":
            warm_grading(started.grading["cpus"])
    except BaseException:
        started.abort()
        raise
    return started


class _Background:
    """Run ``fn`` in a thread; ``result()`` joins it and returns its value or raises its error."""

    def __init__(self, fn):
        self.value, self.error, self.seconds = None, None, 0.0
        self._thread = threading.Thread(target=self._run, args=(fn,), name="label-inputs", daemon=True)
        self._thread.start()

    def _run(self, fn) -> None:
        start = time.perf_counter()
        try:
            self.value = fn()
        except BaseException as err:
            self.error = err
        self.seconds = time.perf_counter() - start

    def done(self) -> bool:
        return not self._thread.is_alive()

    def result(self):
        self._thread.join()
        if self.error is not None:
            raise self.error
        return self.value


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


def is_fresh_run(out: str | Path) -> bool:
    """No shard of the run in ``out`` is done yet (a rerun of a finished run needs no engine)."""
    return not any((Path(out) / "done").glob("shard-*.json"))


def run_label(cfg: LabelRunConfig, started: EngineStart | None = None) -> dict:
    """Label ``cfg.traces`` into ``cfg.out``; ``started``: engines already started for this run
    (``start_engines`` with the same engine, engine options and pool), timed from their start."""
    if started is not None and started.request != (cfg.engine, cfg.engine_kwargs, cfg.pool):
        started.abort()
        raise ValueError(f"run_label: the engines were started as {started.request}, the run asks for "
                         f"{(cfg.engine, cfg.engine_kwargs, cfg.pool)}")
    start = started.started_at if started is not None else time.time()
    out = Path(cfg.out)
    reader = _Background(lambda: _read_inputs(cfg, out))  # inputs load while Ray and the engines start
    if started is None and is_fresh_run(out):  # start the engines now
        t = time.time()
        while not reader.done() and time.time() - t < 0.05:
            time.sleep(0.005)  # a quick wrong-schema error is reported before Ray starts
        if not (reader.done() and reader.error is not None):
            started = start_engines(cfg.engine, cfg.engine_kwargs, cfg.pool)
    try:
        traces, rejected, shards, todo = reader.result()
    except BaseException:
        if started is not None:
            started.abort()
        raise
    inputs_s = reader.seconds
    startup: dict = {}
    if todo:
        started = started or start_engines(cfg.engine, cfg.engine_kwargs, cfg.pool)
        _label_shards(cfg, out, started, todo, len(shards))
        startup = startup_report(started, start, inputs_s, out)
    elif started is not None:
        started.abort()
    stats = summarize(out, len(traces), rejected, time.time() - start, len(shards))
    stats["startup"] = startup
    write_json_atomic(out / "stats.json", stats)
    return stats


def _read_inputs(cfg: LabelRunConfig, out: Path) -> tuple[list[Trace], list[dict], list[list[Trace]], list]:
    """Load and validate the traces, write the manifest and the rejects; the shards and those still to do."""
    from data.trace_io import load_traces

    traces = load_traces(cfg.traces)  # a wrong schema fails here, before any output is written
    valid, rejected = split_valid(traces, cfg.max_step_chars)
    identity = {"stage": "label", "traces": content_id([t.trace_id for t in traces]), "label": asdict(cfg.label),
                "engine": cfg.engine, "engine_kwargs": portable_engine_kwargs(cfg.engine_kwargs),
                "shard_size": cfg.shard_size}
    ensure_manifest(out, identity, extra={"traces_path": str(cfg.traces), "schemas": {
        "labels": StepLabels.SCHEMA.to_string(), "rollouts": Rollout.SCHEMA.to_string()}})
    _write_rejected(out, rejected)
    shards = [valid[i:i + cfg.shard_size] for i in range(0, len(valid), cfg.shard_size)]
    todo = [(i, [t.to_dict() for t in shard]) for i, shard in enumerate(shards) if not _done_path(out, i).exists()]
    return traces, rejected, shards, todo


def _label_shards(cfg: LabelRunConfig, out: Path, started: EngineStart, todo: list, n_shards: int) -> None:
    from tqdm import tqdm

    bar = tqdm(total=n_shards, initial=n_shards - len(todo), desc="label", unit="shard", disable=not cfg.progress)
    live = {"rollouts": 0, "tokens": 0, "t0": time.time()}

    def on_result(result: dict) -> None:
        i = result["shard_index"]
        write_rows_atomic(out / "labels" / f"shard-{i:05d}.parquet", result["labels"], StepLabels.SCHEMA, "StepLabels")
        write_rows_atomic(out / "rollouts" / f"shard-{i:05d}.parquet", result["rollouts"], Rollout.SCHEMA, "Rollout")
        marker = {**result["stats"], "node_id": result["node_id"], "worker_pid": result["worker_pid"],
                  "traces": len(result["labels"]), "engine_id": result["engine_id"], "engine": result["engine"],
                  "grading": started.grading}
        write_json_atomic(_done_path(out, i), marker)
        live["rollouts"] += result["stats"]["rollouts"]
        live["tokens"] += result["stats"]["generated_tokens"]
        elapsed = max(1e-6, time.time() - live["t0"])
        bar.set_postfix(rollouts_s=f"{live['rollouts'] / elapsed:.1f}", tok_s=f"{live['tokens'] / elapsed:.0f}")
        bar.update(1)

    try:
        started.pool.run(_label_work(asdict(cfg.label), started.grading["grader"]), todo, on_result)
    finally:
        started.pool.shutdown()
        bar.close()


def startup_report(started: EngineStart, start: float, inputs_s: float, out: Path) -> dict:
    """The start-up parts of this run, in seconds: Ray, the driver's input work (overlapped with the
    engines' start), each engine actor's process start, engine import and build, and the first rollout."""
    engines = [e for e in _latest_engines(out).values() if e.get("startup", {}).get("entered_at", 0) >= start]
    report = {"started_at": start, "ray_init_s": started.times.get("ray_init_s"), "inputs_s": round(inputs_s, 3)}
    if engines and started.pool is not None:
        first = min(engines, key=lambda e: e["startup"]["engine_ready_at"])
        report.update(
            actor_up_s=round(first["startup"]["entered_at"] - started.pool.created_at, 3),
            engine_import_s=first["startup"]["engine_import_s"], engine_build_s=first["startup"]["engine_build_s"],
            engine_ready_s=round(first["startup"]["engine_ready_at"] - start, 3))
        firsts = [e["first_output_at"] for e in engines if e.get("first_output_at")]
        if firsts:
            report["first_rollout_s"] = round(min(firsts) - start, 3)
    return report


def portable_engine_kwargs(kwargs: dict) -> dict:
    """The engine settings as a manifest records them: a local model by portable name and content hash."""
    from data.provenance import source_ref

    model = kwargs.get("model")
    if model and Path(model).is_dir():
        return {**kwargs, "model": source_ref(model)}
    return dict(kwargs)


def _done_path(out: Path, index: int) -> Path:
    return out / "done" / f"shard-{index:05d}.json"


def _write_rejected(out: Path, rejected: list[dict]) -> None:
    path = out / "rejected" / "rejected.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(".rejected.jsonl.tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in rejected))
    tmp.replace(path)


def _latest_engines(out: Path) -> dict[str, dict]:
    """Each engine's counters as of the last shard it finished (they are cumulative over its life)."""
    latest: dict[str, dict] = {}
    for path in sorted((out / "done").glob("shard-*.json")):
        marker = json.loads(path.read_text())
        engine = marker.get("engine")
        if engine and engine["steps"] >= latest.get(marker["engine_id"], {}).get("steps", -1):
            latest[marker["engine_id"]] = engine
    return latest


def engine_summary(engines: list[dict]) -> dict:
    """Where the engines' time went, and the prefix-cache hit rate next to the ceiling of their requests.

    >>> e = {"step_s": 9.0, "wait_clients_s": 0.5, "wait_input_s": 1.0, "prefix_cache": {"hits": 40, "queries": 100,
    ...      "ceiling_hit_tokens": 50, "query_tokens": 100}}
    >>> s = engine_summary([e, e])
    >>> s["engine_wait_grading_s"], s["prefix_cache"]["hit_share"], s["prefix_cache"]["hit_vs_ceiling"]
    (1.0, 0.4, 0.8)
    """
    out = {"engines": len(engines), "engine_step_s": round(sum(e["step_s"] for e in engines), 3),
           "engine_wait_grading_s": round(sum(e["wait_clients_s"] for e in engines), 3),
           "engine_wait_input_s": round(sum(e["wait_input_s"] for e in engines), 3)}
    reports = [e["prefix_cache"] for e in engines if e.get("prefix_cache")]
    if reports:
        hits, queries = sum(r["hits"] for r in reports), sum(r["queries"] for r in reports)
        ceiling, asked = sum(r["ceiling_hit_tokens"] for r in reports), sum(r["query_tokens"] for r in reports)
        prompt, cached = sum(r.get("prompt_tokens", 0) for r in reports), sum(r.get("cached_prompt_tokens", 0) for r in reports)
        out["prefix_cache"] = {
            "hits": hits, "queries": queries, "hit_share": round(hits / queries, 4) if queries else 0.0,
            "cross_prefix_share": round(cached / prompt, 4) if prompt else 0.0,
            "ceiling_hit_tokens": ceiling, "query_tokens": asked,
            "ceiling_share": round(ceiling / asked, 4) if asked else 0.0,
            "hit_vs_ceiling": round(hits / ceiling, 4) if ceiling else None}
    return out


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
        "grading": {**(markers[-1].get("grading", {}) if markers else {}),
                    "jobs": sum(m.get("grade_jobs", 0) for m in markers)},
        "verdicts": verdicts, "timeouts": verdicts.get("timeout", 0),
        "lucky_rejected": sum(m.get("lucky_rejected", 0) for m in markers),
        "positive_label_fraction": round(sum(sum(r["labels"]) for r in rows) / steps, 4) if steps else None,
        "nodes": sorted({m["node_id"] for m in markers}),
        "wall_s": round(wall_s, 2),
    }
    engines = list(_latest_engines(out).values())
    if engines:
        stats.update(engine_summary(engines))
        stats["generate_s"] = stats["engine_step_s"]  # engine time, counted once when shards overlapped
    stats.update(label_quality(rows))
    return stats
