"""Choosing one answer among sampled solutions: majority vote, PRM aggregation, weighted vote.

Pure functions; the search methods (``search.sampling``, ``search.step_search``) feeds them answers and PRM scores.

>>> majority_answer(["7", "12", "7", None])
'7'
>>> aggregate_step_scores([0.9, 0.5, 0.8], "min")
0.5
>>> weighted_answer(["7", "12", "12"], [0.9, 0.2, 0.3])
'7'
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

AGGREGATIONS = ("min", "last", "prod", "mean")


def aggregate_step_scores(scores: Sequence[float], how: str = "min") -> float:
    """One solution-level score from per-step PRM scores (an empty solution scores 0).

    >>> [round(aggregate_step_scores([0.5, 0.8], h), 2) for h in AGGREGATIONS]
    [0.5, 0.8, 0.4, 0.65]
    >>> aggregate_step_scores([], "min")
    0.0
    """
    if how not in AGGREGATIONS:
        raise ValueError(f"unknown aggregation {how!r}; choose one of {AGGREGATIONS}")
    if not scores:
        return 0.0
    if how == "min":
        return float(min(scores))
    if how == "last":
        return float(scores[-1])
    if how == "prod":
        return float(math.prod(scores))
    return float(sum(scores) / len(scores))


def _plain_equal(a: str, b: str) -> bool:
    return a == b


def cluster_answers(answers: Sequence[str | None],
                    equivalent: Callable[[str, str], bool] = _plain_equal) -> list[int | None]:
    """A cluster index per answer: equivalent answers share one (``None`` for no answer).

    Each answer is compared with the first member of every existing cluster, so an
    ``equivalent`` such as ``verifiers.is_equivalent`` merges ``0.5`` and ``1/2``.

    >>> cluster_answers(["7", "07", None, "12"], lambda a, b: int(a) == int(b))
    [0, 0, None, 1]
    """
    representatives: list[str] = []
    cache: dict[tuple[str, str], bool] = {}
    clusters: list[int | None] = []
    for answer in answers:
        if answer is None:
            clusters.append(None)
            continue
        found = None
        for index, rep in enumerate(representatives):
            key = (answer, rep)
            if key not in cache:
                cache[key] = answer == rep or bool(equivalent(answer, rep))
            if cache[key]:
                found = index
                break
        if found is None:
            representatives.append(answer)
            found = len(representatives) - 1
        clusters.append(found)
    return clusters


def weighted_answer(answers: Sequence[str | None], weights: Sequence[float],
                    equivalent: Callable[[str, str], bool] = _plain_equal) -> str | None:
    """The answer whose cluster has the largest total weight (ties: the cluster seen first).

    With all weights 1 this is majority voting (self-consistency); with PRM scores as
    weights it is PRM-weighted self-consistency.

    >>> weighted_answer(["7", "12", "12"], [1, 1, 1])
    '12'
    >>> weighted_answer([None, None], [1, 1]) is None
    True
    """
    if len(answers) != len(weights):
        raise ValueError(f"{len(answers)} answers but {len(weights)} weights")
    clusters = cluster_answers(answers, equivalent)
    totals: dict[int, float] = {}
    first_member: dict[int, str] = {}
    for answer, weight, cluster in zip(answers, weights, clusters):
        if cluster is None:
            continue
        totals[cluster] = totals.get(cluster, 0.0) + float(weight)
        first_member.setdefault(cluster, answer)
    if not totals:
        return None
    best = max(totals, key=lambda c: (totals[c], -c))
    return first_member[best]


def majority_answer(answers: Sequence[str | None],
                    equivalent: Callable[[str, str], bool] = _plain_equal) -> str | None:
    """Self-consistency: the most frequent answer (ties: the one seen first)."""
    return weighted_answer(answers, [1.0] * len(answers), equivalent)


def best_index(scores: Sequence[float]) -> int:
    """Index of the highest score (ties: the first).

    >>> best_index([0.2, 0.9, 0.9])
    1
    """
    if not scores:
        raise ValueError("best_index: no scores")
    return max(range(len(scores)), key=lambda i: (scores[i], -i))
