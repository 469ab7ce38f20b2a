"""Probe: teach the tag PRM with a likelihood PRM's scores on unlabeled traces (session 7).

Writes OUT/ with two StepLabels files that ``prm-factory train-prm --labels OUT`` reads together:
``mc.parquet`` holds the Monte Carlo labels of LABELS (the ~1,000 labeled traces), and ``teacher.parquet``
holds the traces of EXTRA scored by the likelihood PRM TEACHER (fitted on LABELS' training split):
``soft_labels`` = its P(good), ``labels`` = P(good) >= 0.5. EXTRA's own labels and gold labels are dropped,
and only its traces are used. The trainer's split by problem keeps LABELS' validation problems out of
training.

    python bench/probes/tag_prm_teacher_labels.py LABELS EXTRA TEACHER OUT
    python bench/probes/tag_prm_teacher_labels.py runs/bench_rollout_savings/label_full runs/big/label_binary \\
        runs/prm_full8/lik_soft runs/prm7/distill_labels
"""
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import torch

from prm_training.prm_data import load_label_rows
from prm_training.scorer import PRMScorer

KEEP = ["prompt", "completions", "labels", "trace_id", "problem_id", "soft_labels"]


def main(labels: str, extra: str, teacher: str, out: str) -> None:
    torch.set_num_threads(2)
    labeled, unlabeled = load_label_rows(labels), load_label_rows(extra)
    scores = PRMScorer.from_pretrained(teacher, batch_size=64).score_batch(
        [(r["prompt"], list(r["completions"])) for r in unlabeled])
    taught = [{**{k: r[k] for k in KEEP}, "trace_id": "teacher-" + r["trace_id"],
               "labels": [bool(s >= 0.5) for s in sc], "soft_labels": [float(s) for s in sc]}
              for r, sc in zip(unlabeled, scores)]
    Path(out).mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist([{k: r[k] for k in KEEP} for r in labeled]), Path(out) / "mc.parquet")
    pq.write_table(pa.Table.from_pylist(taught), Path(out) / "teacher.parquet")
    print(f"{out}: {len(labeled)} labeled traces + {len(taught)} teacher-scored traces")


if __name__ == "__main__":
    main(*sys.argv[1:5])
