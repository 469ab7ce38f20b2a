"""`make bench`: run every benchmark, each as its own process, in sizes that fit the 20-minute budget
of the 2-core dev box, and merge their headline figures into ``bench/results/latest.json``.

Each script run alone takes larger defaults (see its docstring). A figure that a benchmark did not
produce is listed under ``missing`` rather than invented.
"""
from __future__ import annotations

import datetime
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
BENCHES = [
    ["bench/verifier_agreement.py"],
    ["bench/verifier_throughput.py"],
    ["bench/rollout_savings.py", "--problems", "25", "--samples", "4", "--rollouts", "8",
     "--work", "runs/bench_rollout_savings_25"],
    ["bench/naive_baseline.py", "--problems", "25", "--samples", "2", "--rollouts", "8",
     "--work", "runs/bench_naive_baseline_25"],
    ["bench/engine_efficiency.py", "--problems", "30", "--samples", "2", "--hf-problems", "8"],
    ["bench/prefix_cache_hit.py", "--problems", "15", "--samples", "2", "--replay-problems", "40"],
    ["bench/scaling.py", "--quick"],
]
# Scratch folders of the runs above; removed first so that every `make bench` measures a fresh run
# (the label runs inside would otherwise resume and finish in seconds).
SCRATCH = ["runs/bench_rollout_savings_25", "runs/bench_naive_baseline_25", "runs/bench_engine_efficiency",
           "runs/bench_prefix_cache", "runs/bench_scaling"]
WANTED = ["engine_efficiency", "token_ratio_binary", "token_ratio_adaptive", "prefix_cache_hit", "speedup_vs_naive",
          "verifier_verdicts_per_s"]


def main() -> None:
    import shutil

    for folder in SCRATCH:
        if (ROOT / folder).exists():
            print(f"removing the scratch folder {folder} (a fresh run is measured)", flush=True)
            shutil.rmtree(ROOT / folder)
    start = time.time()
    wall: dict[str, float] = {}
    for cmd in BENCHES:
        print(f"== {' '.join(cmd)}", flush=True)
        t0 = time.time()
        subprocess.run([sys.executable, *cmd], cwd=ROOT, check=True)
        wall[Path(cmd[0]).stem] = round(time.time() - t0, 1)
    latest: dict = {"date": datetime.date.today().isoformat(), "machine": f"{platform.machine()}, "
                    f"{subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} cores",
                    "commands": [" ".join(c) for c in BENCHES]}
    throughput = json.loads((RESULTS / "verifier_throughput.json").read_text())
    latest["verifier_verdicts_per_s"] = throughput["verifier_verdicts_per_s"]
    savings = json.loads((RESULTS / "rollout_savings.json").read_text())["results"]
    for strategy in ("binary", "adaptive"):
        if strategy in savings:
            latest[f"token_ratio_{strategy}"] = savings[strategy]["token_ratio_vs_full"]
    latest["speedup_vs_naive"] = json.loads((RESULTS / "naive_baseline.json").read_text())["speedup_vs_naive"]
    efficiency = json.loads((RESULTS / "engine_efficiency.json").read_text())
    for key in ("engine_efficiency", "engine_efficiency_hf"):
        if efficiency.get(key) is not None:
            latest[key] = efficiency[key]
    latest["engine_efficiency_steady_state"] = efficiency["results"]["vllm"]["ratio_steady_state"]
    prefix = json.loads((RESULTS / "prefix_cache_hit.json").read_text())
    for key in ("prefix_cache_hit", "prefix_cache_cross_prefix_share", "prefix_cache_speed_ratio"):
        latest[key] = prefix[key]
    routing = prefix["routing"]["results"]
    k = max(r["engines"] for r in routing.values())
    latest[f"prefix_cache_hit_{k}_engines_whole_vs_scattered"] = [
        routing[f"whole_traces_k{k}"]["hit_share"], routing[f"scattered_prefixes_k{k}"]["hit_share"]]
    scaling = json.loads((RESULTS / "scaling.json").read_text())
    latest["scaling_speedup_2_actors"] = scaling["actors"]["2_actors_local"]["speedup_vs_1_actor"]
    latest["scaling_speedup_2_nodes"] = scaling["actors"]["2_actors_two_nodes"]["speedup_vs_1_actor"]
    latest["bench_wall_s"] = wall | {"total": round(time.time() - start, 1)}
    latest["missing"] = [k for k in WANTED if k not in latest]
    (RESULTS / "latest.json").write_text(json.dumps(latest, indent=2))
    print(json.dumps(latest, indent=2))


if __name__ == "__main__":
    main()
