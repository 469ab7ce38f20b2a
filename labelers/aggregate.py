"""Turn what a strategy learned about a trace into its StepLabels.

Soft label = fraction of correct continuations where rollouts were run. Hard label = some
continuation was correct. Steps without rollouts take the label the strategy decided, and
with ``monotone=True`` the exact implications are applied: a correct continuation of a
later prefix, or a correct final answer, proves every earlier prefix good, back to the
nearest step of the trace that holds a false equation (``LabelState.false_steps``).

>>> from labelers.strategies import new_state
>>> s = new_state(3, outcome_correct=False, has_answer=True)
>>> s.n_rollouts[:2], s.n_correct[:2] = [4, 4], [2, 0]
>>> hard_and_soft(s, monotone=False)
([True, False, False], [0.5, 0.0, 0.0])
"""
from __future__ import annotations

from data.prompt_format import build_prompt
from data.records import StepLabels, Trace
from labelers.strategies import LabelState


def hard_and_soft(state: LabelState, monotone: bool) -> tuple[list[bool], list[float]]:
    n = state.n_steps
    hard: list[bool] = []
    soft: list[float] = []
    later_success = state.outcome_correct and monotone
    for i in reversed(range(n)):
        if i + 1 < n and state.false_steps[i + 1]:
            later_success = False  # a continuation through step i + 1 holds a false equation
        later_success = later_success or (monotone and (state.n_correct[i] > 0 or state.decided[i] is True))
        if state.n_rollouts[i] > 0:
            h = state.n_correct[i] > 0 or later_success
            s = state.n_correct[i] / state.n_rollouts[i]
        else:
            decided = state.decided[i]
            h = bool(decided) if decided is not None else later_success
            s = 1.0 if h else 0.0
        hard.append(h)
        soft.append(round(s, 6))
    return hard[::-1], soft[::-1]


def first_error(hard: list[bool]) -> int | None:
    """Index of the first bad step, None when all are good.

    >>> first_error([True, False, False]), first_error([True])
    (1, None)
    """
    return next((i for i, h in enumerate(hard) if not h), None)


def aggregate(trace: Trace, state: LabelState, strategy: str, verifier: str, monotone: bool = True,
              prompt: str | None = None, prompt_format: str = "") -> StepLabels:
    """The labeled record for one trace (TRL stepwise columns plus the Monte Carlo evidence). ``prompt`` is
    the question as the policy saw it (default: the plain format's ``question + "\\n"``)."""
    hard, soft = hard_and_soft(state, monotone)
    return StepLabels(
        prompt=build_prompt(trace.question) if prompt is None else prompt, completions=list(trace.steps), labels=hard,
        trace_id=trace.trace_id, problem_id=trace.problem_id, soft_labels=soft,
        n_rollouts=list(state.n_rollouts), n_correct=list(state.n_correct), first_error=first_error(hard),
        strategy=strategy, policy=trace.policy, verifier=verifier, gold_labels=trace.gold_labels,
        prompt_format=prompt_format,
    )
