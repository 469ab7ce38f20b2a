"""`make bench`: run every benchmark, each as its own process, in sizes that fit the 20-minute budget
of the 2-core dev box, then regenerate docs/results.md and the README's headline table
(``bench/report.py``) from ``bench/results/*.json``.

Each script run alone takes larger defaults (see its docstring). Where a committed result comes from a
larger run than the one here (rollout savings on 1,200 traces, scaling up to 1,000 traces), this run
writes beside it (``*_quick.json``) rather than over it. A benchmark that fails stops the run, and the
report is not rewritten.

    python bench/run_all.py
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import report  # noqa: E402

BENCHES = [
    ["bench/verifier_agreement.py"],
    ["bench/verifier_throughput.py"],
    ["bench/rollout_savings.py", "--problems", "25", "--samples", "4", "--rollouts", "8",
     "--work", "runs/bench_rollout_savings_25", "--out", "bench/results/rollout_savings_quick.json"],
    ["bench/naive_baseline.py", "--problems", "25", "--samples", "2", "--rollouts", "8",
     "--work", "runs/bench_naive_baseline_25"],
    ["bench/engine_efficiency.py", "--problems", "30", "--samples", "2", "--hf-problems", "8"],
    ["bench/prefix_cache_hit.py", "--problems", "15", "--samples", "2", "--replay-problems", "40"],
    ["bench/scaling.py", "--quick", "--out", "bench/results/scaling_quick.json"],
]
# Scratch folders of the runs above; removed first so that every `make bench` measures a fresh run
# (the label runs inside would otherwise resume and finish in seconds).
SCRATCH = ["runs/bench_rollout_savings_25", "runs/bench_naive_baseline_25", "runs/bench_engine_efficiency",
           "runs/bench_prefix_cache", "runs/bench_scaling"]


def main() -> int:
    for folder in SCRATCH:
        if (ROOT / folder).exists():
            print(f"removing the scratch folder {folder} (a fresh run is measured)", flush=True)
            shutil.rmtree(ROOT / folder)
    start = time.time()
    for cmd in BENCHES:
        print(f"== python {' '.join(cmd)}", flush=True)
        t0 = time.time()
        subprocess.run([sys.executable, *cmd], cwd=ROOT, check=True)
        print(f"== {cmd[0]}: {time.time() - t0:.1f} s", flush=True)
    print(f"== all benchmarks: {time.time() - start:.1f} s; writing the report", flush=True)
    return report.main([])


if __name__ == "__main__":
    sys.exit(main())
