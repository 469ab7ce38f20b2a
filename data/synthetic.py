"""The synthetic multi-step arithmetic task, with exact gold step labels.

A problem is a chain of 2 to 5 operations on one running quantity, told as a short
word problem. Its canonical solution has one equation per step and ends with
``The answer is N``. Because the chain is known, :func:`gold_step_labels` can judge
any model-written list of steps: a step is gold-correct while every step so far is right.

>>> p = make_problem(SynthConfig(), seed=0, index=0)
>>> p.gold_steps[-1].endswith("The answer is " + p.gold_answer)
True
>>> all(gold_step_labels(p.gold_steps, p.gold_steps))
True
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from data.records import Problem, content_id

SOURCE = "synthetic"

NAMES = ("Ann", "Ben", "Cara", "Dan", "Eva", "Finn", "Gus", "Hana", "Ivy", "Jon", "Kim", "Leo")
ITEMS = ("apples", "coins", "cards", "books", "stamps", "shells", "pens", "beads")

TEMPLATES = {
    "+": ("{name} gets {x} more {item}.", "{name} buys {x} more {item}."),
    "-": ("{name} gives away {x} {item}.", "{name} loses {x} {item}."),
    "*": ("{name} ends up with {x} times as many {item}.",),
    "/": ("{name} splits the {item} into {x} equal groups and keeps one group.",),
}

ANSWER_PREFIX = "The answer is "
_EQUATION = re.compile(r"^\s*(-?\d+)\s*([-+*/x×÷])\s*(-?\d+)\s*=\s*(-?\d+)\s*\.?\s*(.*)$")
_ANSWER = re.compile(r"^\s*The answer is\s+(?:\\boxed\{\s*(-?\d+)\s*\}|(-?\d+))\s*\.?\s*$")
_OP_ALIASES = {"x": "*", "×": "*", "÷": "/"}


@dataclass(frozen=True)
class SynthConfig:
    """Difficulty knobs of the task."""

    min_ops: int = 2
    max_ops: int = 5
    ops: tuple[str, ...] = ("+", "-", "*", "/")
    start_range: tuple[int, int] = (2, 60)
    addend_range: tuple[int, int] = (2, 60)
    factor_range: tuple[int, int] = (2, 6)
    max_value: int = 300

    def __post_init__(self):
        if not 1 <= self.min_ops <= self.max_ops:
            raise ValueError(f"SynthConfig: need 1 <= min_ops <= max_ops, got {self.min_ops}, {self.max_ops}")
        unknown = set(self.ops) - set(TEMPLATES)
        if unknown or not self.ops:
            raise ValueError(f"SynthConfig.ops: unknown or empty {sorted(unknown) or self.ops}")


@dataclass(frozen=True)
class Operation:
    left: int
    op: str
    right: int
    result: int

    def equation(self) -> str:
        return f"{self.left} {self.op} {self.right} = {self.result}"


def _apply(value: int, op: str, operand: int) -> int:
    if op == "+":
        return value + operand
    if op == "-":
        return value - operand
    if op == "*":
        return value * operand
    return value // operand


def _choose_operand(rng: random.Random, value: int, op: str, cfg: SynthConfig) -> int | None:
    lo, hi = cfg.factor_range
    if op == "+":
        x = rng.randint(*cfg.addend_range)
        return x if value + x <= cfg.max_value else None
    if op == "-":
        hi_sub = min(cfg.addend_range[1], value - 1)
        return rng.randint(cfg.addend_range[0], hi_sub) if hi_sub >= cfg.addend_range[0] else None
    if op == "*":
        options = [k for k in range(lo, hi + 1) if value * k <= cfg.max_value]
        return rng.choice(options) if options else None
    options = [k for k in range(lo, hi + 1) if value % k == 0 and value // k >= 1]
    return rng.choice(options) if options else None


def make_operations(rng: random.Random, cfg: SynthConfig) -> list[Operation]:
    """A chain of operations that stays within ``cfg``'s ranges (exact division only)."""
    n_ops = rng.randint(cfg.min_ops, cfg.max_ops)
    value = rng.randint(*cfg.start_range)
    chain: list[Operation] = []
    while len(chain) < n_ops:
        candidates = list(cfg.ops)
        rng.shuffle(candidates)
        for op in candidates:
            operand = _choose_operand(rng, value, op, cfg)
            if operand is not None:
                result = _apply(value, op, operand)
                chain.append(Operation(value, op, operand, result))
                value = result
                break
        else:  # no operation fits: restart with a fresh start value
            value = rng.randint(*cfg.start_range)
            chain = []
    return chain


def render_question(chain: list[Operation], rng: random.Random) -> str:
    name, item = rng.choice(NAMES), rng.choice(ITEMS)
    sentences = [f"{name} has {chain[0].left} {item}."]
    for operation in chain:
        template = rng.choice(TEMPLATES[operation.op])
        sentences.append(template.format(name=name, x=operation.right, item=item))
    sentences.append(f"How many {item} does {name} have now?")
    return " ".join(sentences)


def canonical_steps(chain: list[Operation]) -> list[str]:
    """One equation per step; the last step also states the answer.

    >>> canonical_steps([Operation(2, "+", 3, 5), Operation(5, "*", 2, 10)])
    ['2 + 3 = 5', '5 * 2 = 10. The answer is 10']
    """
    steps = [operation.equation() for operation in chain]
    steps[-1] = f"{steps[-1]}. {ANSWER_PREFIX}{chain[-1].result}"
    return steps


def boxed_steps(steps: list[str]) -> list[str]:
    """The steps as a chat model writes them: the final answer in ``\\boxed{}``, as the instruction asks.

    >>> boxed_steps(["2 + 3 = 5", "5 * 2 = 10. The answer is 10"])
    ['2 + 3 = 5', '5 * 2 = 10. The answer is \\\\boxed{10}.']
    """
    out = list(steps)
    head, sep, answer = out[-1].rpartition(ANSWER_PREFIX)
    if sep and answer.strip().lstrip("-").isdigit():
        out[-1] = f"{head}{ANSWER_PREFIX}\\boxed{{{answer.strip()}}}."
    return out


def make_problem(cfg: SynthConfig, seed: int, index: int) -> Problem:
    """The ``index``-th problem of the stream for ``seed``; independent of other indices."""
    rng = random.Random(f"{seed}:{index}")
    chain = make_operations(rng, cfg)
    question = render_question(chain, rng)
    gold = str(chain[-1].result)
    return Problem(
        problem_id=content_id("synthetic", question, gold),
        question=question,
        gold_answer=gold,
        source=SOURCE,
        gold_steps=canonical_steps(chain),
    )


def make_problems(n: int, seed: int = 0, cfg: SynthConfig | None = None) -> list[Problem]:
    """``n`` problems, deterministic by ``seed``, with no duplicate question.

    >>> [p.problem_id for p in make_problems(3, seed=1)] == [p.problem_id for p in make_problems(3, seed=1)]
    True
    """
    cfg = cfg or SynthConfig()
    problems: list[Problem] = []
    seen: set[str] = set()
    index = 0
    while len(problems) < n:
        problem = make_problem(cfg, seed, index)
        index += 1
        if problem.problem_id not in seen:
            seen.add(problem.problem_id)
            problems.append(problem)
        if index > 50 * n + 1000:
            raise ValueError(f"SynthConfig {cfg} cannot produce {n} distinct problems")
    return problems


@dataclass
class _ParsedStep:
    operation: Operation | None = None
    answer: int | None = None
    tail_ok: bool = True


def parse_gold_chain(gold_steps: list[str]) -> list[Operation]:
    """Read the operation chain back from canonical steps."""
    chain = []
    for step in gold_steps:
        parsed = _parse_step(step)
        if parsed.operation is None:
            raise ValueError(f"not a canonical synthetic step: {step!r}")
        chain.append(parsed.operation)
    return chain


def _parse_step(step: str) -> _ParsedStep:
    answer_only = _ANSWER.match(step)
    if answer_only:
        return _ParsedStep(answer=int(answer_only.group(1) or answer_only.group(2)))
    match = _EQUATION.match(step)
    if not match:
        return _ParsedStep(tail_ok=False)
    left, op, right, result, tail = match.groups()
    op = _OP_ALIASES.get(op, op)
    parsed = _ParsedStep(operation=Operation(int(left), op, int(right), int(result)))
    if tail:
        answer = _ANSWER.match(tail)
        parsed.answer = int(answer.group(1) or answer.group(2)) if answer else None
        parsed.tail_ok = answer is not None
    return parsed


def _same_operation(got: Operation, want: Operation) -> bool:
    if got.op != want.op or got.result != want.result:
        return False
    if want.op in "+*":
        return sorted((got.left, got.right)) == sorted((want.left, want.right))
    return (got.left, got.right) == (want.left, want.right)


def gold_step_labels(gold_steps: list[str], steps: list[str]) -> list[bool]:
    """Gold prefix correctness of each model-written step: True while every step so far is right.

    A step is right when it performs the next operation of the chain with the right result.
    The answer must be stated in the last equation step or in one step right after it, and
    must be the gold answer; an answer stated early, or any step after the answer, is wrong.

    >>> gold = ["2 + 3 = 5", "5 * 2 = 10. The answer is 10"]
    >>> gold_step_labels(gold, ["2 + 3 = 5", "5 * 2 = 11. The answer is 11"])
    [True, False]
    >>> gold_step_labels(gold, ["3 + 2 = 5", "5 * 2 = 10", "The answer is 10"])
    [True, True, True]
    >>> gold_step_labels(gold, ["2 + 3 = 6", "6 * 2 = 12. The answer is 12"])
    [False, False]
    """
    chain = parse_gold_chain(gold_steps)
    final = chain[-1].result
    labels: list[bool] = []
    ok = True
    answered = False
    for i, step in enumerate(steps):
        parsed = _parse_step(step)
        if ok:
            if answered or not parsed.tail_ok:
                ok = False
            elif parsed.operation is None:  # a bare "The answer is N" step
                ok = i == len(chain) and parsed.answer == final
                answered = True
            else:
                ok = i < len(chain) and _same_operation(parsed.operation, chain[i])
                if parsed.answer is not None:
                    ok = ok and i == len(chain) - 1 and parsed.answer == final
                    answered = True
        labels.append(ok)
    return labels


@dataclass
class SynthSplit:
    """Named, disjoint problem sets: training data for the policy never meets held-out problems."""

    train_seed: int = 1000
    heldout_seed: int = 2000
    cfg: SynthConfig = field(default_factory=SynthConfig)

    def heldout(self, n: int = 300) -> list[Problem]:
        return make_problems(n, self.heldout_seed, self.cfg)

    def train(self, n: int) -> list[Problem]:
        held = {p.problem_id for p in self.heldout(300)}
        return [p for p in make_problems(n + 300, self.train_seed, self.cfg) if p.problem_id not in held][:n]


def propagate_error(chain: list[Operation], at: int, delta: int) -> list[Operation] | None:
    """The chain as a policy that *reads its own written values* would continue it after writing
    a wrong result (``result + delta``) at step ``at``. None when the wrong value breaks the task
    (a non-positive value, or a division that is no longer exact).

    >>> ops = [Operation(2, "+", 3, 5), Operation(5, "*", 2, 10)]
    >>> [o.equation() for o in propagate_error(ops, 0, 1)]
    ['2 + 3 = 6', '6 * 2 = 12']
    """
    if delta == 0:
        return None
    out = list(chain[:at]) + [Operation(chain[at].left, chain[at].op, chain[at].right, chain[at].result + delta)]
    value = out[-1].result
    for operation in chain[at + 1:]:
        if value <= 0 or (operation.op == "/" and value % operation.right):
            return None
        result = _apply(value, operation.op, operation.right)
        out.append(Operation(value, operation.op, operation.right, result))
        value = result
    return out if value > 0 else None


def error_propagation_example(problem: Problem, rng: random.Random) -> tuple[list[str], int] | None:
    """Steps with one wrong result whose later steps continue from the written value, and the
    index of the wrong step (training masks its loss: the policy learns to carry errors, not to
    make them). None when no small error fits the problem.
    """
    chain = parse_gold_chain(problem.gold_steps)
    at = rng.randrange(len(chain))
    deltas = [d for d in range(-10, 11) if d]
    rng.shuffle(deltas)
    for delta in deltas:
        corrupted = propagate_error(chain, at, delta)
        if corrupted is not None:
            return canonical_steps(corrupted), at
    return None
