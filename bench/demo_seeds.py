"""Does the demo's flywheel turn raise the policy? ``prm-factory demo`` over several seeds.

Each seed runs the whole demo from nothing (generate, label, PRM, search, RFT) in its own folder and
reports its figures; the benchmark gives the mean and spread of the held-out greedy gain (goal: a
positive mean) and of the demo's other figures, and the wall time of each run.

    python bench/demo_seeds.py [--seeds 0 1 2] [--work runs/bench_demo]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.result_io import RESULTS_DIR, figure, write_result  # noqa: E402
TITLE = "The demo over seeds: one flywheel turn on the embedded chat policy"
REPORTED = ("label_hard_accuracy", "label_soft_auc", "rollouts_per_step", "prm_step_auc", "majority@16",
            "best_of_16", "weighted_sc@16", "heldout_greedy_before", "heldout_greedy_after", "heldout_greedy_gain")


def spread(values: list[float]) -> dict:
    """Mean, sample standard deviation, min and max.

    >>> spread([0.01, 0.03, 0.02])
    {'mean': 0.02, 'std': 0.01, 'min': 0.01, 'max': 0.03}
    """
    return {"mean": round(statistics.fmean(values), 4),
            "std": round(statistics.stdev(values), 4) if len(values) > 1 else 0.0,
            "min": min(values), "max": max(values)}


def figures(body: dict) -> list[dict]:
    """The figures of a run, from its body.

    >>> body = {"seeds": [0, 1], "by_figure": {"heldout_greedy_gain": {"mean": 0.02, "std": 0.01},
    ...         "best_of_16": {"mean": 0.8}, "majority@16": {"mean": 0.75}}, "wall_s": {"0": 300.0, "1": 320.0}}
    >>> [(f["key"], f["met"]) for f in figures(body)]
    [('demo_heldout_greedy_gain', True), ('demo_best_of_16_minus_majority_16', None), ('demo_wall_s', None)]
    """
    fig = body["by_figure"]
    gain = fig["heldout_greedy_gain"]
    n = len(body["seeds"])
    return [figure("demo_heldout_greedy_gain", f"demo: held-out greedy accuracy gain of the policy step, mean of "
                   f"{n} seeds", gain["mean"], "> 0", f"std {gain['std']} over seeds {body['seeds']}",
                   headline=True),
            figure("demo_best_of_16_minus_majority_16", f"demo: best-of-16 minus majority@16, mean of {n} seeds",
                   round(fig["best_of_16"]["mean"] - fig["majority@16"]["mean"], 4)),
            figure("demo_wall_s", "demo wall time from nothing, s, mean of the seeds",
                   round(statistics.fmean(body["wall_s"].values()), 1))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--work", default="runs/bench_demo")
    ap.add_argument("--out", default=str(RESULTS_DIR / "demo_seeds.json"))
    args = ap.parse_args()
    runs, wall = {}, {}
    for seed in args.seeds:
        out = ROOT / args.work / f"seed-{seed}"
        cmd = [sys.executable, "-m", "pipelines.cli.main", "demo", "--out", str(out), "--seed", str(seed)]
        print("$ prm-factory " + " ".join(cmd[3:]), flush=True)
        start = time.time()
        subprocess.run(cmd, cwd=ROOT, check=True)
        summary = json.loads((out / "summary.json").read_text())
        wall[str(seed)] = summary.get("wall_s", round(time.time() - start, 1))
        runs[str(seed)] = {k: summary[k] for k in REPORTED if summary.get(k) is not None}
    by_figure = {k: spread([r[k] for r in runs.values()]) for k in REPORTED if all(k in r for r in runs.values())}
    body = {"seeds": args.seeds, "by_figure": by_figure, "runs": runs, "wall_s": wall}
    write_result(args.out, "demo_seeds", TITLE, figures(body), body)
    print(json.dumps(by_figure, indent=2))


if __name__ == "__main__":
    main()
