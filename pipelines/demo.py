"""``prm-factory demo``: the main job end to end on the embedded default.

Today it runs what exists: synthetic problems, traces sampled from the embedded policy
through the chosen engine, and the policy's accuracy with the step-level gold statistics.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from data.assets import default_policy_path
from data.parquet_io import read_records, write_json_atomic
from data.records import Trace
from data.synthetic import SynthSplit
from pipelines.engines import make_engine
from pipelines.generate import GenerateConfig, generate_traces
from pipelines.policy_eval import policy_accuracy
from pipelines.runtime import configure_runtime


def run_demo(out_dir: str | Path, n_problems: int = 200, samples: int = 4, engine_name: str = "vllm") -> dict:
    out_dir = Path(out_dir)
    configure_runtime(out_dir)
    start = time.time()
    policy = default_policy_path()
    problems = SynthSplit().heldout(n_problems)
    from data.loaders import write_problems_jsonl

    write_problems_jsonl(out_dir / "problems.jsonl", problems)
    print(f"[1/3] {len(problems)} held-out synthetic problems -> {out_dir / 'problems.jsonl'}")
    engine = make_engine(engine_name, model=str(policy))
    generate_traces(engine, problems, out_dir, policy.name, GenerateConfig(samples=samples))
    traces = read_records(out_dir / "traces", Trace)
    steps = [label for t in traces for label in (t.gold_labels or [])]
    print(f"[2/3] {len(traces)} traces, {len(steps)} steps -> {out_dir / 'traces'}")
    greedy = policy_accuracy(engine, problems, temperature=0.0)
    summary = {
        "problems": len(problems), "traces": len(traces), "engine": engine_name,
        "greedy_accuracy": round(greedy, 4),
        "sampled_accuracy_T1": round(sum(t.outcome_correct for t in traces) / len(traces), 4),
        "gold_correct_step_fraction": round(sum(steps) / max(1, len(steps)), 4),
        "wall_s": round(time.time() - start, 1),
    }
    write_json_atomic(out_dir / "summary.json", summary)
    print("[3/3] accuracy of the embedded policy")
    print(json.dumps(summary, indent=2))
    print(f"output directory: {out_dir.resolve()}")
    return summary
