"""`make bench`: run every benchmark, each as its own process, in sizes that fit the 12-minute budget
of the 2-core dev box, then regenerate docs/results.md and the README's headline table
(``bench/report.py``) from ``bench/results/*.json``.

Each script run alone takes larger defaults (see its docstring). Where a committed result comes from a
larger run than the one here (rollout savings on 800 traces, engine efficiency at 1,000 traces),
this run writes beside it rather than over it; scaling runs alone (see BENCHES). A benchmark that fails
stops the run, and the report is not rewritten. The whole run's wall time, from nothing (scratch
folders removed, every trace generated), goes to ``bench/results/make_bench.json``.

    python bench/run_all.py
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import report  # noqa: E402
from bench.result_io import figure, write_result  # noqa: E402

GOAL_S = 12 * 60  # make bench from nothing

BENCHES = [
    ["bench/verifier_agreement.py"],
    ["bench/verifier_throughput.py"],
    ["bench/rollout_savings.py", "--problems", "25", "--samples", "4", "--rollouts", "8",
     "--work", "runs/bench_rollout_savings_25", "--out", "bench/results/rollout_savings_quick.json"],
    # 200 traces each; both generate (or reuse) the same traces in runs/bench_200
    ["bench/engine_efficiency.py", "--problems", "100", "--samples", "2", "--engines", "vllm",
     "--work", "runs/bench_200", "--out", "bench/results/engine_efficiency_200.json"],
    ["bench/naive_baseline.py", "--problems", "100", "--samples", "2", "--rollouts", "8", "--work", "runs/bench_200"],
    ["bench/prefix_cache_hit.py", "--problems", "15", "--samples", "2", "--replay-problems", "40"],
    ["bench/startup.py", "--repeats", "3", "--served"],
    ["bench/grading_limit.py", "--problems", "100", "--repeats", "1"],
]
# Not in the 12-minute budget, run alone (their committed results come from these commands):
#   python bench/engine_efficiency.py --problems 500 --samples 2 --engines vllm      (1,000 traces, the goal's size)
#   python bench/scaling.py                                                            (100 to 1,000 traces, actors)
#   python bench/engine_efficiency.py --problems 8 --samples 2 --hf-problems 8 --engines hf --work runs/bench_hf \
#       --out bench/results/engine_efficiency_hf.json                                 (the transformers engine)
# Scratch folders of the runs above; removed first so that every `make bench` measures a fresh run
# (the label runs inside would otherwise resume and finish in seconds).
# runs/bench_vllm_cache: vLLM's compile cache for every benchmark of the run, so that it starts cold too.
SCRATCH = ["runs/bench_rollout_savings_25", "runs/bench_200", "runs/bench_prefix_cache", "runs/bench_startup",
           "runs/bench_vllm_cache"]


def main() -> int:
    for folder in SCRATCH:
        if (ROOT / folder).exists():
            print(f"removing the scratch folder {folder} (a fresh run is measured)", flush=True)
            shutil.rmtree(ROOT / folder)
    os.environ["VLLM_CACHE_ROOT"] = str(ROOT / "runs" / "bench_vllm_cache")
    start = time.time()
    parts = []
    for cmd in BENCHES:
        print(f"== python {' '.join(cmd)}", flush=True)
        t0 = time.time()
        subprocess.run([sys.executable, *cmd], cwd=ROOT, check=True)
        parts.append({"command": " ".join(["python", *cmd]), "seconds": round(time.time() - t0, 1)})
        print(f"== {cmd[0]}: {parts[-1]['seconds']} s", flush=True)
    total = round(time.time() - start, 1)
    print(f"== all benchmarks: {total} s; writing the report", flush=True)
    write_result(ROOT / "bench" / "results" / "make_bench.json", "make_bench", "make bench from nothing",
                 figures(total), {"parts": parts, "load_avg_1min_at_end": round(os.getloadavg()[0], 2)})
    return report.main([])


def figures(total_s: float) -> list[dict]:
    """The whole run's wall time against the 12-minute goal.

    >>> figures(700.0)[0]["met"]
    True
    """
    return [figure("make_bench_s", "make bench from nothing, wall time, s", total_s, f"<= {GOAL_S}",
                   "every benchmark at the sizes of bench/run_all.py, traces generated from nothing", headline=True)]


if __name__ == "__main__":
    sys.exit(main())
