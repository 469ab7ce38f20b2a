"""Train several tag-PRM variants at once on one GPU, then score each with ``eval-prm``.

A probe for the question of docs/prm.md "Deeper tag PRM": does a tag PRM learn to check a step's
arithmetic when it gets many more optimizer steps than the CPU budget allows? Each variant is one
``prm-factory train-prm --device cuda`` run (concurrent processes on the one GPU), each killed at
``--minutes``; every finished epoch writes a checkpoint, and the per-epoch validation history is kept.

    python bench/probes/tag_prm_gpu_sweep.py --out runs/gpu_sweep --minutes 7 \\
        --eval-labels runs/bench_rollout_savings/label_full \\
        k2_e10=runs/prm7/distill_labels:--extra-layers,2,--epochs,10

Each variant is ``NAME=LABELS:ARG,ARG,...`` (extra ``train-prm`` arguments after the common ones:
``--kind tag --label-type hard --tag-format native``). ``OUT/summary.json`` holds, per variant, the
training history and the ``eval-prm`` metrics of the last complete epoch.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

COMMON = ["--kind", "tag", "--label-type", "hard", "--tag-format", "native", "--no-progress"]


def parse_variant(text: str) -> tuple[str, str, list[str]]:
    """``NAME=LABELS:ARG,ARG`` -> ``(name, labels, args)``.

    >>> parse_variant("k2=runs/x:--extra-layers,2")
    ('k2', 'runs/x', ['--extra-layers', '2'])
    """
    if "=" not in text or ":" not in text.split("=", 1)[1]:
        raise ValueError(f"variant {text!r}: expected NAME=LABELS:ARG,ARG,...")
    name, rest = text.split("=", 1)
    labels, args = rest.split(":", 1)
    return name, labels, [a for a in args.split(",") if a]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--minutes", type=float, default=7.0, help="wall-clock limit of the training processes")
    ap.add_argument("--eval-labels", required=True, help="labels whose validation split eval-prm scores")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("variants", nargs="+")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cli = [sys.executable, "-m", "pipelines.cli"]
    procs = {}
    for name, labels, extra in map(parse_variant, args.variants):
        log = open(out / f"{name}.log", "w")
        procs[name] = (subprocess.Popen([*cli, "train-prm", "--labels", labels, "--out", str(out / name), *COMMON,
                                         "--device", args.device, *extra], stdout=log, stderr=subprocess.STDOUT), log)
    deadline = time.time() + 60 * args.minutes
    for name, (proc, log) in procs.items():
        try:
            proc.wait(timeout=max(1.0, deadline - time.time()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
    summary = {}
    for name in procs:
        history = [json.loads(line.split("train-prm: ", 1)[1]) for line in (out / f"{name}.log").read_text().splitlines()
                   if line.startswith("train-prm: {")]
        ckpts = sorted((out / name / "checkpoints").glob("epoch-*"), key=lambda p: int(p.name.split("-")[1]))
        ckpts = [c for c in ckpts if (c / "state.json").exists()]
        entry = {"history": history}
        if ckpts:
            prm = out / name if (out / name / "prm_config.json").exists() else ckpts[-1]
            res = subprocess.run([*cli, "eval-prm", "--prm", str(prm), "--labels", args.eval_labels,
                                  "--out", str(out / name / "eval")], capture_output=True, text=True)
            metrics = out / name / "eval" / "metrics.json"
            entry["eval_of"] = str(prm)
            entry["eval"] = ({k: v for k, v in json.loads(metrics.read_text()).items() if not isinstance(v, (list, dict))}
                             if metrics.exists() else res.stderr[-2000:])
        summary[name] = entry
        print(name, json.dumps({"epochs": len(history), "eval_step_auc": (entry.get("eval") or {}).get("step_auc")
                                if isinstance(entry.get("eval"), dict) else entry.get("eval")}), flush=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
