"""Our PRM as the reward of verl's PPO/GRPO trainer: a ``custom_reward_function``.

verl calls ``compute_score(data_source, solution_str, ground_truth, extra_info=None)`` once per
response (``custom_reward_function.path`` = this file, ``custom_reward_function.name`` =
``compute_score``), and passes ``custom_reward_function.reward_kwargs`` as extra keyword arguments.
See docs/rl.md for the config.

The score is the PRM's P(good) of the response's steps (one step per line), aggregated by
``min`` (default: a solution is as good as its worst step), ``last``, ``mean`` or ``prod``.
A response that states no final answer scores 0.0 (a process reward alone would otherwise
pay for short, answer-less text). With no PRM configured, or no question to score against,
it falls back to the verifier's outcome reward (1.0 / 0.0).

Settings, first found wins: keyword arguments (``reward_kwargs``), then ``extra_info``
(``prm_path``, ``prm_aggregate``; ``question`` is read from there too), then the environment
(``PRM_FACTORY_PRM``, ``PRM_FACTORY_PRM_AGGREGATE``).

>>> aggregate_scores([0.9, 0.2, 0.8], "min"), aggregate_scores([0.9, 0.2, 0.8], "last")
(0.2, 0.8)
>>> compute_score("synthetic", "2 + 3 = 5. The answer is 5", "5", extra_info={}, prm_path="")  # no PRM: outcome
1.0
"""
from __future__ import annotations

import math
import os
import threading
from typing import Any, Sequence

ENV_PRM = "PRM_FACTORY_PRM"
ENV_AGGREGATE = "PRM_FACTORY_PRM_AGGREGATE"
AGGREGATES = ("min", "last", "mean", "prod")

_scorers: dict[str, Any] = {}
_lock = threading.Lock()


def aggregate_scores(scores: Sequence[float], how: str = "min") -> float:
    """One number from per-step P(good).

    >>> round(aggregate_scores([0.5, 0.5], "prod"), 3), aggregate_scores([0.2, 0.6], "mean")
    (0.25, 0.4)
    """
    if how not in AGGREGATES:
        raise ValueError(f"prm_aggregate must be one of {AGGREGATES}, got {how!r}")
    if not scores:
        raise ValueError("aggregate_scores: no step scores")
    if how == "min":
        return float(min(scores))
    if how == "last":
        return float(scores[-1])
    if how == "mean":
        return float(sum(scores) / len(scores))
    return float(math.prod(scores))


def get_scorer(path: str, threads: int | None = None):
    """One ``PRMScorer`` per checkpoint path and process (verl calls the function once per response)."""
    with _lock:
        if path not in _scorers:
            from prm_training.load import load_prm

            _scorers[path] = load_prm(path, threads=threads)
        return _scorers[path]


def _setting(name: str, kwargs: dict, extra: dict, env: str | None, default: Any = None) -> Any:
    for source in (kwargs.get(name), extra.get(name), os.environ.get(env) if env else None):
        if source is not None:
            return source
    return default


def compute_score(data_source: str, solution_str: str, ground_truth: str, extra_info: dict | None = None,
                  **kwargs: Any) -> float | dict:
    """verl's custom reward signature. Keyword options: ``prm_path``, ``prm_aggregate``, ``question``,
    ``step_style`` ("newline"), ``return_dict`` (a dict with ``score`` plus its parts, which verl logs)."""
    from labelers.step_split import split_steps
    from verifiers import grade

    extra = dict(extra_info or {})
    prm_path = _setting("prm_path", kwargs, extra, ENV_PRM, "")
    how = _setting("prm_aggregate", kwargs, extra, ENV_AGGREGATE, "min")
    question = _setting("question", kwargs, extra, None, "")
    if how not in AGGREGATES:
        raise ValueError(f"prm_aggregate must be one of {AGGREGATES}, got {how!r}")
    verdict = grade(solution_str or "", str(ground_truth))
    outcome = 1.0 if verdict.correct else 0.0
    steps = split_steps(solution_str or "", kwargs.get("step_style", "newline"))
    if not prm_path or not question:
        score, source = outcome, "outcome"
    elif not steps or verdict.extracted is None:
        score, source = 0.0, "prm"
    else:
        scores = get_scorer(str(prm_path)).score(question, steps)
        score, source = aggregate_scores(scores, how), "prm"
    if kwargs.get("return_dict"):
        return {"score": score, "outcome": outcome, "reward_source": source, "n_steps": len(steps)}
    return score
