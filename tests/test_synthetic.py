import re

import pytest

from data.synthetic import (SynthConfig, SynthSplit, canonical_steps, gold_step_labels, make_problems,
                            parse_gold_chain)


def test_deterministic_by_seed_and_distinct_across_seeds():
    a = make_problems(50, seed=3)
    assert [p.to_dict() for p in a] == [p.to_dict() for p in make_problems(50, seed=3)]
    assert {p.problem_id for p in a}.isdisjoint({p.problem_id for p in make_problems(50, seed=4)})
    assert len({p.problem_id for p in a}) == 50


@pytest.mark.parametrize("cfg", [
    SynthConfig(),
    SynthConfig(min_ops=2, max_ops=2, ops=("+", "-")),
    SynthConfig(min_ops=4, max_ops=5, ops=("*", "/", "+"), max_value=300),
    SynthConfig(min_ops=3, max_ops=3, start_range=(10, 20), addend_range=(1, 5)),
])
def test_difficulty_knobs_are_respected(cfg):
    for p in make_problems(200, seed=1, cfg=cfg):
        chain = parse_gold_chain(p.gold_steps)
        assert cfg.min_ops <= len(chain) <= cfg.max_ops
        assert cfg.start_range[0] <= chain[0].left <= cfg.start_range[1]
        for op in chain:
            assert op.op in cfg.ops
            assert 0 < op.result <= cfg.max_value
            assert op.result == {"+": op.left + op.right, "-": op.left - op.right,
                                 "*": op.left * op.right, "/": op.left / op.right}[op.op]
        for a, b in zip(chain, chain[1:]):
            assert a.result == b.left
        assert p.gold_steps[-1].endswith(f"The answer is {p.gold_answer}")
        # every operand is told in the question
        numbers = [int(x) for x in re.findall(r"\d+", p.question)]
        assert numbers == [chain[0].left] + [op.right for op in chain]


def test_bad_config_is_rejected():
    with pytest.raises(ValueError, match="min_ops"):
        SynthConfig(min_ops=4, max_ops=2)
    with pytest.raises(ValueError, match="ops"):
        SynthConfig(ops=("^",))


GOLD = ["12 + 30 = 42", "42 / 6 = 7", "7 * 3 = 21. The answer is 21"]


@pytest.mark.parametrize("steps, expected", [
    (GOLD, [True, True, True]),
    (["30 + 12 = 42", "42 / 6 = 7", "3 * 7 = 21. The answer is 21"], [True, True, True]),  # commutative
    (["12 + 30 = 42", "42 / 6 = 7", "7 * 3 = 21", "The answer is 21"], [True, True, True, True]),
    (["12 + 30 = 42", "42 / 6 = 7", "7 * 3 = 21", "The answer is 22"], [True, True, True, False]),
    (["12 + 30 = 43", "43 / 6 = 7", "7 * 3 = 21. The answer is 21"], [False, False, False]),  # lucky recovery
    (["12 + 30 = 42", "6 / 42 = 7", "7 * 3 = 21. The answer is 21"], [True, False, False]),  # order matters
    (["12 + 30 = 42", "42 / 6 = 7. The answer is 7", "7 * 3 = 21"], [True, False, False]),  # early answer
    (["12 + 30 = 42", "42 / 6 = 7", "7 * 3 = 21. The answer is 21", "21 + 1 = 22"], [True, True, True, False]),
    (["12 + 30 = 42", "42 - 6 = 36", "36 * 3 = 108. The answer is 108"], [True, False, False]),  # wrong op
    (["12 + 30 = 42", "so 42 / 6 is 7", "7 * 3 = 21. The answer is 21"], [True, False, False]),  # not an equation
    (["12 + 30 = 42", "42 / 6 = 7", "7 * 3 = 21. The answer is 21 apples!"], [True, True, False]),
    (["12 + 30 = 42"], [True]),
    ([], []),
])
def test_gold_step_labels_hand_checked(steps, expected):
    assert gold_step_labels(GOLD, steps) == expected


def test_gold_labels_are_prefix_monotone_on_perturbed_solutions():
    for p in make_problems(100, seed=9):
        for i in range(len(p.gold_steps)):
            steps = list(p.gold_steps)
            steps[i] = steps[i].replace(" = ", " = 1", 1)  # corrupt one result
            labels = gold_step_labels(p.gold_steps, steps)
            assert labels == [j < i for j in range(len(steps))]


def test_split_keeps_heldout_out_of_training():
    split = SynthSplit()
    held = {p.problem_id for p in split.heldout(300)}
    assert len(held) == 300
    assert held.isdisjoint({p.problem_id for p in split.train(2000)})


def test_canonical_steps_format():
    p = make_problems(1, seed=0)[0]
    assert canonical_steps(parse_gold_chain(p.gold_steps)) == p.gold_steps


def test_error_propagation_examples_carry_the_written_value():
    import random

    from data.synthetic import error_propagation_example, propagate_error

    rng = random.Random(0)
    made = 0
    for p in make_problems(200, seed=11):
        example = error_propagation_example(p, rng)
        if example is None:
            continue
        made += 1
        steps, at = example
        chain = parse_gold_chain(steps)
        gold = parse_gold_chain(p.gold_steps)
        assert chain[at].result != gold[at].result  # the one wrong step
        for i, (a, b) in enumerate(zip(chain, chain[1:])):
            assert a.result == b.left  # later steps continue from the written value
        for i in range(at + 1, len(chain)):  # and compute right from there
            op = chain[i]
            assert op.result == {"+": op.left + op.right, "-": op.left - op.right,
                                 "*": op.left * op.right, "/": op.left // op.right}[op.op]
        assert gold_step_labels(p.gold_steps, steps) == [i < at for i in range(len(steps))]
    assert made > 150
    assert propagate_error(parse_gold_chain(["6 / 3 = 2. The answer is 2"]), 0, -2) is None  # value 0
