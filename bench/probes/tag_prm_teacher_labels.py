"""Probe: teach the tag PRM with a likelihood PRM's scores on unlabeled traces (session 7, 8).

Writes OUT/ with StepLabels files that ``prm-factory train-prm --labels OUT`` reads together:
``mc.parquet`` holds the Monte Carlo labels of LABELS (the ~1,000 labeled traces), and ``teacher.parquet``
holds the traces of EXTRA scored by the likelihood PRM TEACHER (fitted on LABELS' training split):
``soft_labels`` = its P(good), ``labels`` = P(good) >= 0.5. EXTRA's own labels and gold labels are dropped,
and only its traces are used. The trainer's split by problem keeps LABELS' validation problems out of
training.

With ``--corrupt N`` (session 8), ``corrupt.parquet`` adds N altered copies of every EXTRA trace, also
scored by the teacher: a random step's result (the number after its first "=") gets one digit changed,
and the trace is cut after that step (``corrupt_step``). They are hard negatives for the one skill the
tag PRM lacks, comparing a written digit with the one the policy would write; whether such a copy is
bad is still the teacher's call (the policy's likelihood), not an arithmetic check.

    python bench/probes/tag_prm_teacher_labels.py LABELS EXTRA TEACHER OUT [--corrupt N] [--seed S]
    python bench/probes/tag_prm_teacher_labels.py runs/bench_rollout_savings/label_full runs/big/label_binary \\
        runs/prm_full8/lik_soft runs/prm7/distill_labels
"""
import argparse
import random
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import torch

from prm_training.prm_data import load_label_rows
from prm_training.scorer import PRMScorer

KEEP = ["prompt", "completions", "labels", "trace_id", "problem_id", "soft_labels"]
RESULT = re.compile(r"^(.*?= )(\d+)(.*)$", re.S)


def corrupt_step(step: str, rng: random.Random) -> str | None:
    """``step`` with one digit of its result changed (also where the result recurs after it, as in
    ". The answer is 17"); None when the step has no "= number".

    >>> corrupt_step("51 / 3 = 17", random.Random(0)) in {"51 / 3 = " + s for s in ("07", "27", "37", "47", "57",
    ...     "67", "77", "87", "97", "10", "11", "12", "13", "14", "15", "16", "18", "19")}
    True
    >>> corrupt_step("The answer is 4", random.Random(0)) is None
    True
    """
    match = RESULT.match(step)
    if not match:
        return None
    head, number, tail = match.groups()
    at = rng.randrange(len(number))
    digits = [d for d in "0123456789" if d != number[at] and not (d == "0" and at == 0 and len(number) > 1)]
    new = number[:at] + rng.choice(digits) + number[at + 1:]
    return head + new + re.sub(rf"\b{number}\b", new, tail)


def corrupted_copies(rows: list[dict], copies: int, seed: int) -> list[dict]:
    """``copies`` altered, truncated copies of each row (rows whose steps have no result are skipped)."""
    rng = random.Random(seed)
    out = []
    for r in rows:
        steps = list(r["completions"])
        candidates = [k for k, s in enumerate(steps) if RESULT.match(s)]
        for c in range(copies if candidates else 0):
            k = rng.choice(candidates)
            out.append({**r, "trace_id": f"corrupt{c}-{k}-{r['trace_id']}",
                        "completions": steps[:k] + [corrupt_step(steps[k], rng)]})
    return out


def taught_rows(rows: list[dict], scorer, prefix: str, chunk: int = 500) -> list[dict]:
    """``rows`` relabeled by the teacher: soft = its P(good) per step, hard = P(good) >= 0.5."""
    from tqdm import tqdm

    scores = []
    for k in tqdm(range(0, len(rows), chunk), desc=f"teacher scores ({len(rows)} traces)", unit="chunk"):
        scores += scorer.score_batch([(r["prompt"], list(r["completions"])) for r in rows[k:k + chunk]])
    return [{**{k: r[k] for k in KEEP}, "trace_id": prefix + r["trace_id"],
             "labels": [bool(s >= 0.5) for s in sc], "soft_labels": [float(s) for s in sc]}
            for r, sc in zip(rows, scores)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for name in ("labels", "extra", "teacher", "out"):
        parser.add_argument(name)
    parser.add_argument("--corrupt", type=int, default=0, help="altered copies per EXTRA trace (0: none)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(2)
    labeled, unlabeled = load_label_rows(args.labels), load_label_rows(args.extra)
    scorer = PRMScorer.from_pretrained(args.teacher, batch_size=64)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist([{k: r[k] for k in KEEP} for r in labeled]), out / "mc.parquet")
    taught = taught_rows(unlabeled, scorer, "teacher-")
    pq.write_table(pa.Table.from_pylist(taught), out / "teacher.parquet")
    print(f"{out}: {len(labeled)} labeled traces + {len(taught)} teacher-scored traces")
    if args.corrupt:
        altered = taught_rows(corrupted_copies(unlabeled, args.corrupt, args.seed), scorer, "teacher-")
        pq.write_table(pa.Table.from_pylist(altered), out / "corrupt.parquet")
        bad = sum(not r["labels"][-1] for r in altered)
        print(f"{out}: + {len(altered)} altered traces, the teacher calls {bad} of their altered steps bad")


if __name__ == "__main__":
    main()
