"""Rollout planning strategies. Each runs in rounds: ``plan`` says which step prefixes need how
many more continuations, ``update`` records their verdicts, and an empty plan means done.

Two exact facts save rollouts (hard label = "some continuation from this prefix is correct"):

* A trace whose final answer is right is itself a correct continuation of each of its
  prefixes, so all its hard labels are True without a single rollout.
* A correct continuation of prefix ``i`` is also one of every prefix ``j < i``; so hard
  labels are monotone, and a good step proves every step before it good.

The last step of a trace that states an answer is decided by that answer (no rollouts).

With the arithmetic check on (``LabelConfig.check_arithmetic``), a continuation through a false
equation does not count, so a success proves earlier prefixes only back to the nearest step of
the trace that holds a false equation (``LabelState.false_steps``).

>>> state = new_state(n_steps=3, outcome_correct=False, has_answer=True)
>>> plan(FullStrategy(rollouts=4), state)
[PrefixAsk(step_index=0, n=4), PrefixAsk(step_index=1, n=4)]
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class PrefixAsk:
    """Ask for ``n`` more continuations of the prefix ending with step ``step_index``."""

    step_index: int
    n: int


@dataclass
class LabelState:
    """What is known so far about one trace's steps."""

    n_steps: int
    outcome_correct: bool
    has_answer: bool
    n_rollouts: list[int] = field(default_factory=list)
    n_correct: list[int] = field(default_factory=list)
    decided: list[bool | None] = field(default_factory=list)  # hard label once known
    rounds: int = 0
    lo: int = 0  # binary search: the first error lies in [lo, hi]
    hi: int = 0
    false_steps: list[bool] = field(default_factory=list)  # the trace's steps holding a false equation

    def proof_reaches_back_to(self, step_index: int) -> int:
        """The earliest prefix that a correct continuation of prefix ``step_index`` also proves good:
        the trace's own steps on the way must not hold a false equation.

        >>> new_state(4, False, True, false_steps=[False, True, False, False]).proof_reaches_back_to(3)
        1
        """
        return max((j for j in range(step_index + 1) if self.false_steps[j]), default=0)

    def known_good_up_to(self, step_index: int) -> None:
        for j in range(self.proof_reaches_back_to(step_index), step_index + 1):
            self.decided[j] = True

    @property
    def outcome_proves_all(self) -> bool:
        """The trace itself is a correct continuation of every one of its prefixes."""
        return self.outcome_correct and not any(self.false_steps)


def new_state(n_steps: int, outcome_correct: bool, has_answer: bool,
              false_steps: list[bool] | None = None) -> LabelState:
    false_steps = list(false_steps) if false_steps is not None else [False] * n_steps
    if len(false_steps) != n_steps:
        raise ValueError(f"false_steps has {len(false_steps)} entries for {n_steps} steps")
    state = LabelState(n_steps, outcome_correct, has_answer, [0] * n_steps, [0] * n_steps, [None] * n_steps,
                       false_steps=false_steps)
    if n_steps and has_answer:
        state.decided[-1] = outcome_correct
    if n_steps and outcome_correct:  # the trace is a correct continuation of its own prefixes
        state.known_good_up_to(n_steps - 1)
    state.hi = n_steps - 1
    return state


def _open_steps(state: LabelState) -> list[int]:
    """Steps whose prefix still needs rollouts: all but an answered last step."""
    last = state.n_steps - 1 if state.has_answer else state.n_steps
    return list(range(max(0, last)))


@dataclass(frozen=True)
class FullStrategy:
    """Math-Shepherd: ``rollouts`` continuations from every step prefix, in one round."""

    rollouts: int = 8
    name: str = "full"

    def plan(self, state: LabelState) -> list[PrefixAsk]:
        if state.rounds > 0:
            return []
        return [PrefixAsk(i, self.rollouts) for i in _open_steps(state)]

    def update(self, state: LabelState, step_index: int, correct: list[bool]) -> None:
        _record(state, step_index, correct)


@dataclass(frozen=True)
class BinaryStrategy:
    """OmegaPRM-style binary search for the first error, ``rollouts`` continuations per probe.

    Correct traces need no rollouts. For the others the first error lies in ``[lo, hi]``
    (the answered last step is known bad); each round probes the middle prefix of every
    open trace: a correct continuation moves ``lo`` past it, none moves ``hi`` onto it.
    """

    rollouts: int = 8
    name: str = "binary"

    def plan(self, state: LabelState) -> list[PrefixAsk]:
        if state.outcome_proves_all or state.n_steps == 0:
            return []
        if state.rounds == 0 and state.outcome_correct:  # good from its last false step on; search before it
            state.lo, state.hi = 0, state.proof_reaches_back_to(state.n_steps - 1)
        elif state.rounds == 0:
            state.lo, state.hi = 0, state.n_steps - 1 if state.has_answer else state.n_steps
        if state.lo < state.hi:
            return [PrefixAsk((state.lo + state.hi) // 2, self.rollouts)]
        # A success proves earlier prefixes only back to a false equation of the trace; probe the rest.
        return [PrefixAsk(j, self.rollouts) for j in range(state.lo)
                if state.decided[j] is None and state.n_rollouts[j] == 0]

    def update(self, state: LabelState, step_index: int, correct: list[bool]) -> None:
        _record(state, step_index, correct)
        if any(correct):
            state.known_good_up_to(step_index)
            state.lo = max(state.lo, step_index + 1)
        else:
            state.hi = min(state.hi, step_index)


@dataclass(frozen=True)
class AdaptiveStrategy:
    """Small batches per prefix until each is decided, at most ``rollouts`` per prefix.

    ``target="hard"`` stops a prefix at its first correct continuation (and, by monotonicity,
    every prefix before it). ``target="soft"`` stops once the Wilson interval of the fraction
    correct is narrower than ``2 * soft_half_width``.
    """

    rollouts: int = 8
    batch: int = 2
    target: str = "hard"
    soft_half_width: float = 0.2
    name: str = "adaptive"

    def __post_init__(self):
        if self.target not in ("hard", "soft"):
            raise ValueError(f"AdaptiveStrategy.target must be 'hard' or 'soft', got {self.target!r}")

    def _undecided(self, state: LabelState, i: int) -> bool:
        if state.n_rollouts[i] >= self.rollouts:
            return False
        if self.target == "hard":
            return state.decided[i] is None
        return wilson_half_width(state.n_correct[i], state.n_rollouts[i]) > self.soft_half_width

    def plan(self, state: LabelState) -> list[PrefixAsk]:
        if self.target == "hard" and state.outcome_proves_all:
            return []
        return [PrefixAsk(i, min(self.batch, self.rollouts - state.n_rollouts[i]))
                for i in _open_steps(state) if self._undecided(state, i)]

    def update(self, state: LabelState, step_index: int, correct: list[bool]) -> None:
        _record(state, step_index, correct)
        if any(correct):
            state.known_good_up_to(step_index)
        elif state.n_rollouts[step_index] >= self.rollouts and state.decided[step_index] is None:
            state.decided[step_index] = False


def _record(state: LabelState, step_index: int, correct: list[bool]) -> None:
    state.n_rollouts[step_index] += len(correct)
    state.n_correct[step_index] += sum(correct)


def wilson_half_width(successes: int, n: int, z: float = 1.96) -> float:
    """Half the width of the Wilson score interval (1.0 when nothing is known yet).

    >>> round(wilson_half_width(4, 8), 3)
    0.285
    >>> wilson_half_width(0, 0)
    1.0
    """
    if n == 0:
        return 1.0
    p = successes / n
    denom = 1 + z * z / n
    return z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom


STRATEGIES = {"full": FullStrategy, "binary": BinaryStrategy, "adaptive": AdaptiveStrategy}


def make_strategy(name: str, rollouts: int = 8, **options):
    """Build a strategy by name.

    >>> make_strategy("binary", rollouts=4)
    BinaryStrategy(rollouts=4, name='binary')
    """
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; choose one of {sorted(STRATEGIES)}")
    if rollouts < 1:
        raise ValueError(f"rollouts must be >= 1, got {rollouts}")
    return STRATEGIES[name](rollouts=rollouts, **options)


def plan(strategy, state: LabelState) -> list[PrefixAsk]:
    """One round of asks for one trace; an empty list means the trace is done."""
    return strategy.plan(state)
