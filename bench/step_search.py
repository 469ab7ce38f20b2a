"""Step-level search with the CLI-default PRM: greedy-step, beam and lookahead against N.

Runs after ``bench/prm_defaults.py`` on its PRM and held-out problems (same work folder), so that the
sample-level sweep there and this step-level one use one PRM and one problem set:

    prm-factory eval-search --prm W/prm --problems W/heldout.jsonl --limit 50 \\
        --methods majority,greedy-step,beam,lookahead --step-ns 2,4 --n-max 4 --out W/step_search

    python bench/step_search.py [--work runs/bench_prm_defaults] [--limit 50] [--step-ns 2,4]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.result_io import RESULTS_DIR, figure, write_result  # noqa: E402

TITLE = "Step-level search with the CLI-default PRM: accuracy and tokens against N"


def figures(body: dict) -> list[dict]:
    """Accuracy of each method at each N, and its generated tokens per problem.

    >>> pts = [{"method": "beam", "n": 2, "accuracy": 0.7, "tokens_per_problem": 120.0}]
    >>> [f["key"] for f in figures({"points": pts})]
    ['accuracy_beam_n2', 'tokens_beam_n2']
    """
    out = []
    for p in sorted(body["points"], key=lambda p: (p["method"], p["n"])):
        slug = p["method"].split(" ")[0].replace("-", "_").replace("@", "_at_")
        out += [figure(f"accuracy_{slug}_n{p['n']}", f"held-out accuracy, {p['method']}, N = {p['n']}", p["accuracy"]),
                figure(f"tokens_{slug}_n{p['n']}", f"generated tokens per problem, {p['method']}, N = {p['n']}",
                       p["tokens_per_problem"])]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", default="runs/bench_prm_defaults")
    ap.add_argument("--limit", type=int, default=50)
    ap.add_argument("--step-ns", default="2,4")
    ap.add_argument("--out", default=str(RESULTS_DIR / "step_search.json"))
    args = ap.parse_args()
    work = ROOT / args.work
    if not (work / "prm" / "prm_config.json").exists():
        raise SystemExit(f"{work}/prm: no PRM; run python bench/prm_defaults.py --work {args.work} first")
    n_max = max(int(n) for n in args.step_ns.split(","))
    start = time.time()
    subprocess.run([sys.executable, "-m", "pipelines.cli.main", "eval-search", "--prm", str(work / "prm"),
                    "--problems", str(work / "heldout.jsonl"), "--limit", str(args.limit),
                    "--methods", "majority,greedy-step,beam,lookahead", "--step-ns", args.step_ns,
                    "--n-max", str(n_max), "--out", str(work / "step_search")], cwd=ROOT, check=True)
    points = json.loads((work / "step_search" / "sweep.json").read_text())["points"]
    body = {"points": points, "limit": args.limit, "step_ns": args.step_ns, "wall_s": round(time.time() - start, 1)}
    write_result(args.out, "step_search", TITLE, figures(body), body)
    print(json.dumps(points, indent=2))


if __name__ == "__main__":
    main()
