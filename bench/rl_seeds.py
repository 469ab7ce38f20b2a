"""Process- against outcome-reward RL at equal samples, over several seeds, run side by side.

Each (reward, seed) pair is one ``prm-factory rl`` run in ``OUT/<reward>_s<seed>/`` with the same options
(``--rl-options``; process runs add ``--reward process --prm PRM``, outcome runs ``--reward outcome``). The
runs start together as subprocesses; on a GPU they share it. Each run resumes from its checkpoints, so
after ``--deadline-s`` (or a kill) the same command carries on where they stopped. At the end the
held-out greedy accuracy of every evaluated iteration is tabulated per run, with the mean over seeds and
each reward's gain over the start, in ``OUT/table.md`` and ``OUT/table.json``.

``--plot PNG --group LABEL=GLOB[,GLOB]...`` launches nothing: it reads the run directories that the globs
match, plots each group's mean held-out curve with its seeds, and writes the curves through
``bench/result_io.py`` to ``--result`` (default ``bench/results/rl_seeds.json``): per group, the held-out
gain over ``--before`` (the accuracy before training) of the mean at the last iteration every seed
reached, reported without a goal. ``--machine`` names the machine the runs were measured on when the
plot is made elsewhere, ``--command`` the command that made them, ``--title`` what they compare.

    python bench/rl_seeds.py --out runs/rl_seeds --seeds 0 1 2 --prm mc --device cuda \\
        --rl-options "--check-arithmetic --stratify --negative-scale 0 --drop-zero-advantage --group-size 4 \\
        --problems-per-iteration 256 --n-train 4000 --minibatch-size 16 --ppo-epochs 4 --lr 2e-4 \\
        --temperature 0.7 --iterations 25 --eval-every 5"
"""
from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.result_io import figure, write_result  # noqa: E402

TITLE = "RL: held-out gain of process- and outcome-reward RL over seeds"


def heldout_curve(run_dir: Path) -> tuple[float | None, dict[int, float]]:
    """(accuracy before training, {iteration: held-out accuracy}) read from a run's files so far."""
    before = None
    for state in sorted(run_dir.glob("checkpoints/*/state.json")):
        before = json.loads(state.read_text()).get("heldout_accuracy_before", before)
    curve = {}
    log = run_dir / "log.jsonl"
    if log.exists():
        for line in log.read_text().splitlines():
            row = json.loads(line)
            if "heldout_accuracy" in row:
                curve[row["iteration"]] = row["heldout_accuracy"]
    return before, curve


def iterations_done(run_dir: Path) -> int:
    """Lines in a run's ``log.jsonl`` so far (one per finished iteration)."""
    log = run_dir / "log.jsonl"
    return len(log.read_text().splitlines()) if log.exists() else 0


def tabulate(runs: dict[str, Path]) -> tuple[str, dict]:
    """A markdown table (one row per run, one column per evaluated iteration, plus a mean row per reward).

    >>> tabulate({})[0].splitlines()[0]
    '| run | before | last |'
    """
    data = {name: heldout_curve(path) for name, path in runs.items()}
    iterations = sorted({it for _, curve in data.values() for it in curve})
    lines = ["| run | before | " + " | ".join(str(i) for i in iterations) + (" | " if iterations else "") + "last |",
             "|---|---|" + "---|" * (len(iterations) + 1)]
    by_reward: dict[str, list[dict[int, float]]] = {}
    for name, (before, curve) in data.items():
        last = curve[max(curve)] if curve else None
        cells = [_fmt(curve.get(i)) for i in iterations]
        lines.append(f"| {name} | {_fmt(before)} | " + " | ".join(cells) + (" | " if cells else "") + f"{_fmt(last)} |")
        by_reward.setdefault(name.rsplit("_s", 1)[0], []).append(curve)
    means = {}
    for reward, curves in by_reward.items():
        row = {i: sum(c[i] for c in curves) / len(curves) for i in iterations if all(i in c for c in curves)}
        means[reward] = row
        cells = [_fmt(row.get(i)) for i in iterations]
        lines.append(f"| **mean {reward}** ({len(curves)} seeds) | | " + " | ".join(cells) + (" | " if cells else "") + " |")
    return "\n".join(lines) + "\n", {"runs": {k: {"before": b, "curve": c} for k, (b, c) in data.items()},
                                     "mean": means}


def collect_groups(specs: list[str]) -> dict[str, dict[str, dict[int, float]]]:
    """``["LABEL=GLOB[,GLOB]", ...]`` -> {label: {run dir: held-out curve}} over the matching run directories."""
    import glob

    groups = {}
    for spec in specs:
        label, sep, patterns = spec.partition("=")
        if not sep or not patterns:
            raise ValueError(f"--group {spec!r}: expected LABEL=GLOB[,GLOB]")
        dirs = sorted({d for pattern in patterns.split(",") for d in glob.glob(pattern) if Path(d, "log.jsonl").exists()})
        if not dirs:
            raise ValueError(f"--group {spec!r}: no run directory (with a log.jsonl) matches")
        groups[label] = {d: heldout_curve(Path(d))[1] for d in dirs}
    return groups


def figures(groups: dict[str, dict[str, dict]], before: float | None, headline: bool = True) -> list[dict]:
    """Per group: the mean held-out accuracy at the last iteration all its runs reached, as a gain over ``before``.

    Reported without goals; unless ``headline`` is off (runs that no longer speak for the defaults), the
    first group whose label starts with "process" and the first with "outcome" go into the README's table.

    >>> groups = {"process a": {"r0": {5: 0.78, 10: 0.80}, "r1": {"5": 0.76, "10": 0.84}},
    ...           "outcome a": {"r2": {"5": 0.8}}}
    >>> [(f["key"], f["value"], f["headline"]) for f in figures(groups, 0.75)]
    [('gain_process_a', 0.07, True), ('gain_outcome_a', 0.05, True)]
    """
    out, seen = [], set()
    for label, runs in groups.items():
        curves = [{int(i): acc for i, acc in curve.items()} for curve in runs.values()]
        common = set.intersection(*(set(c) for c in curves)) if curves else set()
        if not common:
            raise ValueError(f"group {label!r}: its runs share no evaluated iteration")
        last = max(common)
        mean = sum(c[last] for c in curves) / len(curves)
        kind = label.split()[0].lower()
        in_readme = headline and kind in ("process", "outcome") and kind not in seen
        seen.add(kind)
        slug = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")
        what = f"{label}: mean of {len(curves)} seeds at iteration {last}"
        if before is None:
            out.append(figure(f"heldout_{slug}", f"held-out accuracy, {what}", round(mean, 4), headline=in_readme))
        else:
            out.append(figure(f"gain_{slug}", f"held-out accuracy gain over the start ({before:g}), {what}",
                              round(mean - before, 4), headline=in_readme))
    return out


def plot_groups(groups: dict[str, dict[str, dict[int, float]]], before: float | None, png: Path) -> None:
    """One line per group (the mean over its runs at the iterations all of them reached), its runs faint."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for k, (label, runs) in enumerate(groups.items()):
        color = f"C{k}"
        for curve in runs.values():
            xs = sorted(curve)
            ax.plot(xs, [curve[x] for x in xs], color=color, alpha=0.25, lw=1)
        common = sorted(set.intersection(*(set(c) for c in runs.values())))
        ax.plot(common, [sum(c[i] for c in runs.values()) / len(runs) for i in common], color=color, lw=2.5,
                marker="o", label=f"{label} (mean of {len(runs)})")
    if before is not None:
        ax.axhline(before, color="gray", ls="--", lw=1, label=f"start {before:.3f}")
        ax.axhline(before + 0.05, color="gray", ls=":", lw=1, label="start + 5 points")
    ax.set_xlabel("RL iteration (1,024 policy samples each)")
    ax.set_ylabel("held-out greedy accuracy (300 problems)")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    plt.close(fig)


def _fmt(x: float | None) -> str:
    return "" if x is None else f"{x:.3f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="directory of the runs (required unless --plot)")
    ap.add_argument("--plot", help="write a plot of --group's curves to this PNG instead of running")
    ap.add_argument("--group", action="append", default=[], help="LABEL=GLOB[,GLOB] of run directories, for --plot")
    ap.add_argument("--before", type=float, default=None, help="--plot: the starting accuracy to draw")
    ap.add_argument("--result", default=str(ROOT / "bench" / "results" / "rl_seeds.json"),
                    help="--plot: where the curves and gains are written")
    ap.add_argument("--machine", default=None, help="--plot: the machine the runs ran on (default: this one)")
    ap.add_argument("--command", default=None,
                    help="--plot: the command that made the runs, recorded with the result (default: this one)")
    ap.add_argument("--title", default=TITLE, help="--plot: the result's title")
    ap.add_argument("--no-headline", action="store_true",
                    help="--plot: keep the gains out of the README's table (runs on a policy other than the default)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--rewards", nargs="+", default=["process", "outcome"], choices=["process", "outcome"])
    ap.add_argument("--prm", default="mc", help="the process runs' --prm (a checkpoint, mc or gold)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads per run")
    ap.add_argument("--rl-options", default="", help="options shared by every run, as one string")
    ap.add_argument("--progress-every-s", type=float, default=60, help="print each run's iterations this often")
    ap.add_argument("--deadline-s", type=float, default=0, help="stop the runs after this many seconds (0: never)")
    args = ap.parse_args(argv)
    if args.plot:
        groups = collect_groups(args.group)
        plot_groups(groups, args.before, Path(args.plot))
        write_result(args.result, "rl_seeds", args.title, figures(groups, args.before, not args.no_headline),
                     {"before": args.before, "groups": groups, "headline": not args.no_headline},
                     command=args.command, machine=args.machine)
        print(f"wrote {args.plot} and {args.result}")
        return 0
    if not args.out:
        ap.error("--out is required (or --plot)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    runs, procs = {}, []
    for reward in args.rewards:
        for seed in args.seeds:
            name = f"{reward}_s{seed}"
            runs[name] = out / name
            reward_opts = ["--reward", reward] + (["--prm", args.prm] if reward == "process" else [])
            cmd = [sys.executable, "-m", "pipelines.cli.main", "rl", *reward_opts, *shlex.split(args.rl_options),
                   "--seed", str(seed), "--device", args.device, "--threads", str(args.threads),
                   "--no-progress", "--out", str(runs[name])]
            log = (out / f"{name}.log").open("a")
            procs.append((name, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)))
            print(f"started {name}: {shlex.join(cmd)}", flush=True)
    start = last_report = time.time()
    while any(p.poll() is None for _, p in procs):
        if time.time() - last_report >= args.progress_every_s:
            print(f"[{time.time() - start:6.0f} s] iterations done: " + ", ".join(
                f"{name} {iterations_done(runs[name])}" for name, _ in procs), flush=True)
            last_report = time.time()
        if args.deadline_s and time.time() - start > args.deadline_s:
            for _, p in procs:
                p.terminate()
            print(f"deadline of {args.deadline_s:.0f} s reached: runs stopped (rerun to resume)", flush=True)
            break
        time.sleep(5)
    for _, p in procs:
        p.wait()
    failed = [name for name, p in procs if p.returncode not in (0, -15)]
    table, data = tabulate(runs)
    (out / "table.md").write_text(table)
    (out / "table.json").write_text(json.dumps({**data, "wall_s": round(time.time() - start, 1),
                                                "rl_options": args.rl_options, "prm": args.prm}, indent=1))
    print(table)
    if failed:
        print(f"failed runs: {failed} (see {out}/<run>.log)", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
