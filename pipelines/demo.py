"""``prm-factory demo``: the main job end to end on the embedded default.

Synthetic held-out problems, traces sampled from the embedded policy through vLLM, the
policy's accuracy, Monte Carlo step labels (``binary``) on a local Ray, their quality
against the exact gold step labels, and an HTML report. Every stage writes under ``out_dir``;
rerunning the same command resumes where it stopped.
"""
from __future__ import annotations

import time
from pathlib import Path

from data.assets import default_policy_path
from data.parquet_io import read_records, write_json_atomic
from data.records import Trace
from data.synthetic import SynthSplit
from pipelines.runtime import configure_runtime


def run_demo(out_dir: str | Path, n_problems: int = 100, samples: int = 4, engine_name: str = "vllm",
             strategy: str = "binary", rollouts: int = 8) -> dict:
    from data.loaders import write_problems_jsonl
    from pipelines.engines import make_engine
    from pipelines.generate import GenerateConfig, generate_traces
    from pipelines.label_run import LabelRunConfig, run_label
    from pipelines.labeling import LabelConfig
    from pipelines.policy_eval import policy_accuracy
    from pipelines.ray_pool import PoolConfig
    from pipelines.report import write_label_report

    out_dir = Path(out_dir)
    configure_runtime(out_dir)
    start = time.time()
    policy = default_policy_path()
    problems = SynthSplit().heldout(n_problems)
    write_problems_jsonl(out_dir / "problems.jsonl", problems)
    print(f"[1/4] {len(problems)} held-out synthetic problems -> {out_dir / 'problems.jsonl'}")

    engine = make_engine(engine_name, model=str(policy))
    generate_traces(engine, problems, out_dir / "generate", policy.name, GenerateConfig(samples=samples))
    traces = read_records(out_dir / "generate" / "traces", Trace)
    greedy = policy_accuracy(engine, problems, temperature=0.0)
    del engine
    print(f"[2/4] {len(traces)} traces sampled at T=1 -> {out_dir / 'generate' / 'traces'}")

    stats = run_label(LabelRunConfig(
        traces=str(out_dir / "generate" / "traces"), out=str(out_dir / "label"),
        label=LabelConfig(strategy=strategy, rollouts=rollouts), engine=engine_name,
        engine_kwargs={"model": str(policy)}, pool=PoolConfig(actors=1)))
    print(f"[3/4] step labels ({strategy}, N={rollouts}) -> {out_dir / 'label' / 'labels'}")
    report = write_label_report(out_dir / "label")
    print(f"[4/4] report -> {report}")

    summary = {
        "problems": len(problems), "traces": len(traces), "engine": engine_name,
        "policy_greedy_accuracy": round(greedy, 4),
        "policy_sampled_accuracy_T1": round(sum(t.outcome_correct for t in traces) / len(traces), 4),
        "label_strategy": strategy, "label_steps": stats["steps"], "rollouts_per_step": stats["rollouts_per_step"],
        "label_hard_accuracy": stats.get("hard_accuracy"),
        "label_balanced_accuracy": stats.get("hard_balanced_accuracy"), "label_soft_auc": stats.get("soft_auc"),
        "first_error_accuracy": stats.get("first_error_accuracy"), "wall_s": round(time.time() - start, 1),
    }
    write_json_atomic(out_dir / "summary.json", summary)
    print("\ndemo summary")
    for key, value in summary.items():
        print(f"  {key:28s} {value}")
    print(f"output directory: {out_dir.resolve()}")
    return summary
