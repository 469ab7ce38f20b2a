"""The arithmetic check: continuations through a false equation are lucky, not evidence."""
import pytest

from data.records import Trace
from labelers.aggregate import hard_and_soft
from labelers.strategies import AdaptiveStrategy, BinaryStrategy, new_state
from engines.base import Completion, EngineStats
from labelers.rounds import LabelConfig, label_shard
from tests.fakes import fake_grade_many
from verifiers.arithmetic import false_equation


@pytest.mark.parametrize("text, expected", [
    ("47 / 2 = 23\n23 * 4 = 92. The answer is 92", "47 / 2 = 23"),
    ("20 + 8 = 28\n28 + 47 = 76. The answer is 76", "28 + 47 = 76"),
    ("Then 5 × 3 = 16 apples.", "5 × 3 = 16"),
    ("<<48/2=25>> so 25", "48/2=25"),
    ("(2 + 3) * 4 = 21", "(2 + 3) * 4 = 21"),
    ("31 + 15 = 46\n46 / 2 = 23. The answer is 23", None),
    ("each gets 7 / 3 = 2.33 pies", None),  # rounded to the digits written
    ("10 / 4 = 2.5 and 3 - 5 = -2", None),
    ("x - 3 + 5 = 2", None),  # part of an expression with a variable: not judged
    ("2x + 3 = 9", None),
    ("3 + 4 = 7 * 2", None),  # the right side goes on
    ("1,000 + 5 = 1005", None),  # thousands separator: not judged rather than misread
    ("1 / 0 = 3", None),
    ("The answer is 12", None),
])
def test_false_equation(text, expected):
    assert false_equation(text) == expected


def test_a_success_proves_earlier_prefixes_only_back_to_a_false_step():
    state = new_state(4, outcome_correct=False, has_answer=True, false_steps=[False, True, False, False])
    state.n_rollouts[2], state.n_correct[2] = 4, 1
    hard, _ = hard_and_soft(state, monotone=True)
    assert hard == [False, True, True, False]  # step 0's only evidence passes through step 1's false equation
    assert not new_state(3, True, True, false_steps=[False, True, False]).outcome_proves_all
    with pytest.raises(ValueError, match="false_steps"):
        new_state(3, False, True, false_steps=[False])


def test_binary_and_adaptive_probe_what_a_success_cannot_prove():
    oracle = [True, True, True, False]  # prefix i has a clean correct continuation iff oracle[i]
    for strategy in (BinaryStrategy(4), AdaptiveStrategy(rollouts=4, batch=2)):
        state = new_state(4, outcome_correct=False, has_answer=True, false_steps=[False, True, False, False])
        while asks := strategy.plan(state):
            for ask in asks:
                strategy.update(state, ask.step_index, [oracle[ask.step_index]] * ask.n)
            state.rounds += 1
        assert state.n_rollouts[0] > 0, strategy.name  # not inferred through the false step 1
        assert hard_and_soft(state, monotone=True)[0] == oracle, strategy.name
    # a correct trace with a false equation does not prove its own earlier prefixes
    state = new_state(3, outcome_correct=True, has_answer=True, false_steps=[False, True, False])
    assert BinaryStrategy(4).plan(state) != []


class LuckyEngine:
    """Continues a wrong prefix through a floored division that lands back on the gold answer."""

    name = "lucky"

    def __init__(self):
        self.stats = EngineStats()

    def generate(self, requests):
        out = []
        for r in requests:
            wrong_prefix = "= 47" in r.prompt
            text = "47 / 2 = 23\n23 * 4 = 92. The answer is 92" if wrong_prefix else \
                "46 / 2 = 23\n23 * 4 = 92. The answer is 92"
            out.append([Completion(text, 12, "stop") for _ in range(r.n)])
        return out


@pytest.mark.parametrize("strategy", ["full", "binary", "adaptive"])
def test_label_shard_rejects_lucky_continuations(strategy):
    steps = ["31 + 15 = 47", "47 / 2 = 23", "23 * 4 = 92. The answer is 92"]
    trace = Trace("t", "p", "Ann has 31 cards...?", "92", steps, "fake", "92", True, [False, False, False])
    checked = label_shard(LuckyEngine(), [trace], LabelConfig(strategy=strategy, rollouts=2),
                          grade_many=fake_grade_many)
    row = checked.labels[0]
    assert row["labels"][0] is False and row["n_correct"][0] == 0
    assert all(r["false_equation"] == "47 / 2 = 23" for r in checked.rollouts if r["step_index"] == 0)
    assert checked.stats["lucky_rejected"] >= 2
    plain = label_shard(LuckyEngine(), [trace], LabelConfig(strategy=strategy, rollouts=2, check_arithmetic=False),
                        grade_many=fake_grade_many)
    assert plain.labels[0]["labels"][0] is True  # plain Math-Shepherd counts the lucky continuation


def test_a_correct_trace_with_a_false_step_proves_its_prefixes_from_that_step_on():
    state = new_state(4, outcome_correct=True, has_answer=True, false_steps=[False, False, True, False])
    assert state.decided == [None, None, True, True]
    strategy = BinaryStrategy(4)
    asks = strategy.plan(state)
    assert [a.step_index for a in asks] == [1]  # the search covers only the prefixes before step 2
    strategy.update(state, 1, [True] * 4)
    state.rounds += 1
    assert strategy.plan(state) == []
    assert hard_and_soft(state, monotone=True)[0] == [True, True, True, True]
    adaptive = AdaptiveStrategy(rollouts=4, batch=2)
    state = new_state(4, outcome_correct=True, has_answer=True, false_steps=[False, False, True, False])
    assert [a.step_index for a in adaptive.plan(state)] == [0, 1]


def test_degenerate_text_is_scanned_in_linear_time():
    # with ambiguous space runs the pattern backtracked exponentially on long chains with no "="
    assert false_equation("2 *  " * 400 + "2") is None
    assert false_equation("1 + " * 300 + "1 = 302") is None  # a left side over 200 characters is not judged
    assert false_equation("1 + " * 10 + "1 = 12") == "1 + " * 10 + "1 = 12"
    assert false_equation("(1 + 2) " * 200) is None
