"""Label quality against gold step labels: accuracy, balanced accuracy, ROC-AUC, first-error accuracy.

>>> roc_auc([0.9, 0.8, 0.2, 0.1], [True, True, False, False])
1.0
>>> round(balanced_accuracy([True, True, False], [True, False, False]), 3)
0.75
"""
from __future__ import annotations

from typing import Sequence


def roc_auc(scores: Sequence[float], truth: Sequence[bool]) -> float | None:
    """Probability that a random positive outscores a random negative (ties count half); None if one class is empty."""
    pos = [s for s, t in zip(scores, truth) if t]
    neg = [s for s, t in zip(scores, truth) if not t]
    if not pos or not neg:
        return None
    ranked = sorted((s, t) for s, t in zip(scores, truth))
    rank_sum = 0.0
    i = 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        mid_rank = (i + j + 1) / 2  # 1-based average rank of the tie group
        rank_sum += mid_rank * sum(1 for k in range(i, j) if ranked[k][1])
        i = j
    return (rank_sum - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


def balanced_accuracy(pred: Sequence[bool], truth: Sequence[bool]) -> float | None:
    pos = [p for p, t in zip(pred, truth) if t]
    neg = [p for p, t in zip(pred, truth) if not t]
    if not pos or not neg:
        return None
    return (sum(pos) / len(pos) + sum(not p for p in neg) / len(neg)) / 2


def first_error_index(labels: Sequence[bool]) -> int | None:
    return next((i for i, x in enumerate(labels) if not x), None)


def label_quality(rows: Sequence[dict]) -> dict:
    """Hard accuracy, balanced accuracy, soft AUC and first-error accuracy of StepLabels rows with gold."""
    hard, soft, gold = [], [], []
    first_hits = traces = 0
    for row in rows:
        g = row.get("gold_labels")
        if not g or len(g) != len(row["labels"]):
            continue
        traces += 1
        hard += list(row["labels"])
        soft += list(row["soft_labels"])
        gold += list(g)
        first_hits += first_error_index(row["labels"]) == first_error_index(g)
    if not gold:
        return {}
    tp = sum(h and g for h, g in zip(hard, gold))
    tn = sum((not h) and (not g) for h, g in zip(hard, gold))
    return {
        "gold_traces": traces,
        "gold_steps": len(gold),
        "gold_positive_steps": sum(gold),
        "hard_accuracy": round((tp + tn) / len(gold), 4),
        "hard_balanced_accuracy": _round(balanced_accuracy(hard, gold)),
        "false_positives": sum(h and not g for h, g in zip(hard, gold)),
        "false_negatives": sum(g and not h for h, g in zip(hard, gold)),
        "soft_auc": _round(roc_auc(soft, gold)),
        "first_error_accuracy": round(first_hits / traces, 4),
    }


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)
