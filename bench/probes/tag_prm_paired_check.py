"""Probe: does a PRM check the arithmetic, or only guess from the context? (session 8)

Pairs each altered step of ``tag_prm_teacher_labels.py --corrupt`` (one digit of a result changed,
the trace cut after it) with the same step as the policy wrote it, where the teacher calls the
original good and the altered one bad. Only problems of the PRMs' validation split are used. The
figure is the paired AUC: how often the PRM scores the original step above the altered one, given
the same question and the same earlier steps. 0.5 means the PRM cannot tell "8 * 6 = 48" from
"8 * 6 = 88".

    python bench/probes/tag_prm_paired_check.py TEACHER_LABELS PRM [PRM ...] [--pairs 400]
    python bench/probes/tag_prm_paired_check.py runs/prm8/distill_corrupt runs/prm8/k2 runs/prm_full8/lik_soft
"""
import argparse
import json
import statistics
from pathlib import Path

import pyarrow.parquet as pq
import torch

from labelers.metrics import roc_auc
from prm_training.prm_data import split_of
from prm_training.scorer import PRMScorer


def step_pairs(labels: Path, val_fraction: float, limit: int) -> list[tuple[dict, dict]]:
    """(altered, original) traces, both cut after the altered step, from the validation problems."""
    for name in ("teacher.parquet", "corrupt.parquet"):
        if not (labels / name).exists():
            raise FileNotFoundError(f"{labels / name} is missing: make it with tag_prm_teacher_labels.py --corrupt 1")
    originals = {r["trace_id"]: r for r in pq.read_table(labels / "teacher.parquet").to_pylist()}
    pairs = []
    for altered in pq.read_table(labels / "corrupt.parquet").to_pylist():
        source = "teacher-" + altered["trace_id"].split("-", 3)[-1]
        if source not in originals:
            raise ValueError(f"corrupt.parquet row {altered['trace_id']!r}: field trace_id names no trace of "
                             f"teacher.parquet ({source!r})")
        original = originals[source]
        n = len(altered["completions"])
        if split_of(altered["problem_id"], val_fraction) == "val" and original["labels"][n - 1] \
                and not altered["labels"][n - 1]:
            pairs.append((altered, {**original, "completions": original["completions"][:n]}))
    return pairs[:limit]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("labels", type=Path)
    parser.add_argument("prms", nargs="+")
    parser.add_argument("--pairs", type=int, default=400)
    parser.add_argument("--val-fraction", type=float, default=0.2)
    args = parser.parse_args()
    torch.set_num_threads(2)
    pairs = step_pairs(args.labels, args.val_fraction, args.pairs)
    for prm in args.prms:
        scorer = PRMScorer.from_pretrained(prm)
        altered = [s[-1] for s in scorer.score_batch([(a["prompt"], list(a["completions"])) for a, _ in pairs])]
        original = [s[-1] for s in scorer.score_batch([(o["prompt"], list(o["completions"])) for _, o in pairs])]
        auc = roc_auc(original + altered, [True] * len(original) + [False] * len(altered))
        print(json.dumps({"prm": prm, "pairs": len(pairs), "paired_auc": round(auc, 4),
                          "mean_original": round(statistics.mean(original), 4),
                          "mean_altered": round(statistics.mean(altered), 4)}))


if __name__ == "__main__":
    main()
