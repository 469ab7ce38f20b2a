"""`make bench`: run every benchmark that exists, each as its own process, and merge their headline
figures into ``bench/results/latest.json``.

Figures not produced yet (engine efficiency, prefix-cache hit rate)
are listed under ``missing`` rather than invented.
"""
from __future__ import annotations

import datetime
import json
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
BENCHES = [
    ["bench/verifier_agreement.py"],
    ["bench/verifier_throughput.py"],
    ["bench/rollout_savings.py", "--problems", "100", "--samples", "4", "--rollouts", "8",
     "--work", "runs/bench_rollout_savings_100"],
    ["bench/naive_baseline.py", "--problems", "100", "--samples", "2", "--rollouts", "8"],
]
WANTED = ["engine_efficiency", "token_ratio_binary", "token_ratio_adaptive", "prefix_cache_hit", "speedup_vs_naive",
          "verifier_verdicts_per_s"]


def main() -> None:
    for cmd in BENCHES:
        print(f"== {' '.join(cmd)}", flush=True)
        subprocess.run([sys.executable, *cmd], cwd=ROOT, check=True)
    latest: dict = {"date": datetime.date.today().isoformat(), "machine": f"{platform.machine()}, "
                    f"{subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} cores"}
    throughput = json.loads((RESULTS / "verifier_throughput.json").read_text())
    latest["verifier_verdicts_per_s"] = throughput["verifier_verdicts_per_s"]
    savings = json.loads((RESULTS / "rollout_savings.json").read_text())["results"]
    for strategy in ("binary", "adaptive"):
        if strategy in savings:
            latest[f"token_ratio_{strategy}"] = savings[strategy]["token_ratio_vs_full"]
    latest["speedup_vs_naive"] = json.loads((RESULTS / "naive_baseline.json").read_text())["speedup_vs_naive"]
    latest["missing"] = [k for k in WANTED if k not in latest]
    (RESULTS / "latest.json").write_text(json.dumps(latest, indent=2))
    print(json.dumps(latest, indent=2))


if __name__ == "__main__":
    main()
