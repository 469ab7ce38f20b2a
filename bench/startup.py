"""Time to the first rollout of ``prm-factory label`` on the embedded default, and where it goes.

Each repeat runs the command as a fresh process (``python -m pipelines.cli.main label``: the
embedded tiny policy on the vLLM engine, one actor on a local Ray, ``full``) on a few traces, into a
new output directory, and reads the start-up parts from its ``stats.json`` (``startup``):

* ``cli_s``: from the process's spawn to the start of the engines (Python start, imports, the CLI's own
  set-up; the CLI starts Ray and the engine actors first, then loads the policy's tokenizer meanwhile);
* ``ray_init_s``: ``ray.init``; ``inputs_s``: reading and validating the traces (in a thread, while
  Ray starts); ``actor_up_s``: from the actor's creation to its constructor running;
* ``engine_import_s`` and ``engine_build_s``: inside the actor;
* ``first_rollout_s``: from the engines' start to the first finished request in the engine.

The figure with the goal (at most 8 s) is the time from the process's spawn to the first rollout,
the median over the repeats. The runs share one vLLM compile cache (``WORK/vllm_cache``), emptied
before the first, as a user's ``~/.cache/vllm`` is before their first command: the first run compiles
(reported on its own), the later ones start from the cache, as every later command of a user does.

With ``--served``, the same command also runs against an engine that is already up: a local
``vllm serve`` of the same policy (started once, before the clock, and left running across the
repeats) reached through ``--engine openai``. That is what keeping one engine warm across commands
gives; the engine's own import and build are then outside the command.

    python bench/startup.py [--repeats 3] [--problems 4] [--served]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.engine_efficiency import RESULTS, ensure_traces  # noqa: E402
from bench.result_io import figure, write_result  # noqa: E402

GOAL = "<= 8"
TITLE = "Start-up: time to the first rollout of label on the embedded default"
PARTS = ("cli_s", "ray_init_s", "inputs_s", "actor_up_s", "engine_import_s", "engine_build_s", "engine_ready_s",
         "first_rollout_s")


def one_run(traces: Path, out: Path, engine_args: Sequence[str] = ("--engine", "vllm")) -> dict:
    """Run the label command once as a fresh process; its start-up parts, timed from the spawn."""
    cmd = [sys.executable, "-m", "pipelines.cli.main", "label", "--traces", str(traces), "--out", str(out),
           *engine_args, "--strategy", "full", "--rollouts", "4", "--max-tokens", "40"]
    load = os.getloadavg()[0]
    spawned = time.time()
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    up = json.loads((out / "stats.json").read_text())["startup"]
    if up.get("first_rollout_s") is None:
        raise RuntimeError(f"{out}/stats.json: no first rollout recorded in 'startup': {up}")
    run = {k: up.get(k) for k in PARTS if k in up}
    run["cli_s"] = round(up["started_at"] - spawned, 3)
    run["from_spawn_s"] = round(up["started_at"] + up["first_rollout_s"] - spawned, 3)
    run["load_avg_1min"] = round(load, 2)
    return run


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--problems", type=int, default=4, help="held-out problems, 2 traces each")
    parser.add_argument("--work", default=str(ROOT / "runs" / "bench_startup"))
    parser.add_argument("--out", default=str(RESULTS / "startup.json"))
    parser.add_argument("--served", action="store_true",
                        help="also time the command against a vllm serve of the policy that is already up")
    args = parser.parse_args(argv)

    from data.synthetic import SynthSplit
    from engines.runtime import configure_runtime

    work = Path(args.work)
    configure_runtime()
    traces = ensure_traces(work / f"gen_{args.problems}x2", SynthSplit().heldout(args.problems), 2)
    compile_cache = work / "vllm_cache"  # set after the traces' engine, which must not warm it
    shutil.rmtree(compile_cache, ignore_errors=True)
    os.environ["VLLM_CACHE_ROOT"] = str(compile_cache.resolve())
    runs = [one_run(traces, work / f"label_{time.time_ns()}") for _ in range(args.repeats)]
    report = {"config": vars(args), "runs": runs, "median": median_parts(runs)}
    if args.served:
        report["served"] = served_runs(traces, work, args.repeats)
    write_result(args.out, "startup", TITLE, figures(report), report)
    return report


def median_parts(runs: list[dict]) -> dict:
    """Each part's median over the runs (printed as a table)."""
    median = {k: round(statistics.median(r[k] for r in runs), 3) for k in runs[0] if k != "load_avg_1min"}
    print(f"{'part':18s} " + " ".join(f"{'run ' + str(i + 1):>8s}" for i in range(len(runs))) + f" {'median':>8s}")
    for key in median:
        print(f"{key:18s} " + " ".join(f"{r[key]:8.2f}" for r in runs) + f" {median[key]:8.2f}")
    return median


def served_runs(traces: Path, work: Path, repeats: int) -> dict:
    """The label command against a ``vllm serve`` of the policy started (and warmed) before the clock."""
    from data.assets import default_policy_path
    from engines import GenRequest, make_engine
    from engines.vllm_server import VLLMServer

    policy = str(default_policy_path())
    with VLLMServer(policy, cpu=True, log_path=str(work / "vllm_serve.log")) as url:
        make_engine("openai", base_url=url).generate([GenRequest("1 + 1 =", n=1, max_tokens=2)])
        engine_args = ("--engine", "openai", "--base-url", url, "--served-model", policy, "--tokenizer", policy)
        runs = [one_run(traces, work / f"label_served_{time.time_ns()}", engine_args) for _ in range(repeats)]
    print("against a running vllm serve:")
    return {"runs": runs, "median": median_parts(runs)}


def figures(report: dict) -> list[dict]:
    """Time to first rollout from the spawn (goal), then from the engines' start, then the parts.

    >>> med = {"from_spawn_s": 9.5, "first_rollout_s": 7.9, "cli_s": 1.6, "ray_init_s": 3.0}
    >>> [(f["key"], f["met"]) for f in figures({"median": med})][:2]
    [('time_to_first_rollout_from_command_s', False), ('time_to_first_rollout_in_run_s', None)]
    """
    m = report["median"]
    out = [figure("time_to_first_rollout_from_command_s", "time to first rollout, s, from the command's start (median)",
                  m["from_spawn_s"], GOAL, "Python and the CLI, Ray up, actor up, engine built, first request done",
                  headline=True),
           figure("time_to_first_rollout_in_run_s", "the same from the engines' start (the CLI's own start-up "
                  "left out)", m["first_rollout_s"])]
    if "runs" in report:
        out.append(figure("time_to_first_rollout_cold_cache_s", "time to first rollout, s, from the command's start, "
                          "first run (empty compile cache)", report["runs"][0]["from_spawn_s"]))
    labels = {"cli_s": "the CLI until the engines start", "ray_init_s": "ray.init", "inputs_s": "inputs read and validated "
              "(overlapped with Ray's start)", "actor_up_s": "engine actor up (process, constructor)",
              "engine_import_s": "engine import in the actor", "engine_build_s": "engine build in the actor",
              "engine_ready_s": "from the engines' start to the engine ready"}
    out += [figure(f"startup_{k}", f"start-up part: {label}, s", m[k]) for k, label in labels.items() if k in m]
    if "served" in report:
        served = report["served"]["median"]
        out.append(figure("time_to_first_rollout_served_s", "time to first rollout, s, from the command's start, "
                          "against a vllm serve already up (--engine openai; median)", served["from_spawn_s"],
                          note="the engine's import and build happen once, outside the command"))
    return out


if __name__ == "__main__":
    main()
