"""``prm-factory demo``: the whole flywheel, one round, on the embedded default.

Synthetic training problems -> traces from the embedded policy (vLLM) -> ``binary`` Monte Carlo
labels on a local Ray (scored against the exact gold labels) -> a PRM -> PRM best-of-N and
weighted self-consistency against majority voting on held-out problems -> rejection-sampling
fine-tuning of the policy on its own verified solutions -> held-out greedy accuracy before and after. It prints a summary
table and writes ``OUT/report.html`` with every stage's plots. Rerunning resumes.
"""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from data.parquet_io import write_json_atomic
from pipelines.flywheel import FlywheelConfig

# The policy step is RFT: at a size that fits minutes on a CPU it raises held-out greedy accuracy, where
# a PPO step of the same cost moves it within its noise (docs/rl.md).
DEMO_CONFIG = FlywheelConfig(rounds=1, label_problems=100, samples=4, strategy="binary", rollouts=8, prm_epochs=3,
                             search_problems=100, search_n=16, policy_step="rft", rl_problems=1000, rft_samples=2,
                             rft_steps=150, heldout_n=300)


def run_demo(out_dir: str | Path, n_problems: int = 100, samples: int = 4, engine_name: str = "vllm",
             rft_steps: int | None = None, seed: int = 0) -> dict:
    from pipelines.flywheel import run_flywheel, rounds_table
    from pipelines.flywheel_report import write_flywheel_report

    out = Path(out_dir)
    start = time.time()
    cfg = replace(DEMO_CONFIG, label_problems=n_problems, samples=samples, engine=engine_name, seed=seed,
                  rft_steps=DEMO_CONFIG.rft_steps if rft_steps is None else rft_steps)
    result = run_flywheel(cfg, out)
    figures = result["rounds"][0]
    report = write_flywheel_report(out, result["rounds"], title="prm-factory demo: one turn of the flywheel")
    gain = figures["heldout_greedy_after"] - figures["heldout_greedy_before"]
    summary = {**{k: v for k, v in figures.items() if k not in ("policy", "next_policy", "rl_reward_first",
                                                                  "rl_reward_last")},
               "heldout_greedy_gain": round(gain, 4), "seed": seed, "report": str(report),
               "wall_s": round(time.time() - start, 1)}
    write_json_atomic(out / "summary.json", summary)
    print("\ndemo summary")
    for key, value in summary.items():
        print(f"  {key:26s} {value}")
    print("\n" + rounds_table(result["rounds"]))
    print(f"\nreport: {report}")
    print(f"output directory: {out.resolve()}")
    return summary
