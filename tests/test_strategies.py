"""Rollout planning, aggregation and shard bookkeeping, on a fake engine (pure logic only)."""
import math

import pytest

from data.records import Trace
from labelers.aggregate import aggregate, hard_and_soft
from labelers.strategies import (AdaptiveStrategy, BinaryStrategy, FullStrategy, PrefixAsk, make_strategy, new_state)
from labelers.rounds import LabelConfig, label_shard
from tests.fakes import FakeEngine, fake_grade_many


def _run(strategy, state, oracle):
    """Drive a strategy with a deterministic oracle: prefix i succeeds iff oracle[i]."""
    spent = 0
    while True:
        asks = strategy.plan(state)
        if not asks:
            return spent
        for ask in asks:
            strategy.update(state, ask.step_index, [oracle[ask.step_index]] * ask.n)
            spent += ask.n
        state.rounds += 1


def test_full_is_one_round_over_every_open_step():
    s = new_state(4, outcome_correct=True, has_answer=True)
    assert FullStrategy(8).plan(s) == [PrefixAsk(0, 8), PrefixAsk(1, 8), PrefixAsk(2, 8)]
    s.rounds = 1
    assert FullStrategy(8).plan(s) == []
    s = new_state(3, outcome_correct=False, has_answer=False)  # no answer stated: the last step needs rollouts too
    assert [a.step_index for a in FullStrategy(2).plan(s)] == [0, 1, 2]


@pytest.mark.parametrize("n_steps", [2, 3, 5, 8, 13])
def test_binary_finds_the_first_error_in_log_rounds(n_steps):
    for first_bad in range(n_steps):
        oracle = [i < first_bad for i in range(n_steps)]
        state = new_state(n_steps, outcome_correct=False, has_answer=True)
        strategy = BinaryStrategy(4)
        spent = _run(strategy, state, oracle)
        hard, _ = hard_and_soft(state, monotone=True)
        assert hard == oracle
        assert state.rounds <= math.ceil(math.log2(n_steps)) + 1
        assert spent <= 4 * state.rounds


def test_binary_spends_nothing_on_correct_traces():
    state = new_state(5, outcome_correct=True, has_answer=True)
    assert BinaryStrategy(8).plan(state) == []
    assert hard_and_soft(state, monotone=True)[0] == [True] * 5


def test_adaptive_hard_stops_at_first_success_and_propagates_back():
    state = new_state(4, outcome_correct=False, has_answer=True)
    oracle = [True, True, False, False]
    spent = _run(AdaptiveStrategy(rollouts=8, batch=2), state, oracle)
    assert hard_and_soft(state, monotone=True)[0] == oracle
    assert state.n_rollouts[1] == 2  # decided by its first batch
    assert state.n_rollouts[2] == 8  # the bad prefix uses the whole cap
    assert spent == state.n_rollouts[0] + 2 + 8


def test_adaptive_soft_stops_on_a_tight_interval():
    state = new_state(2, outcome_correct=True, has_answer=True)
    strategy = AdaptiveStrategy(rollouts=64, batch=8, target="soft", soft_half_width=0.2)
    _run(strategy, state, [True, True])
    assert 8 <= state.n_rollouts[0] < 64


def test_make_strategy_rejects_bad_options():
    with pytest.raises(ValueError, match="unknown strategy"):
        make_strategy("nope")
    with pytest.raises(ValueError, match="rollouts"):
        make_strategy("full", rollouts=0)
    with pytest.raises(ValueError, match="target"):
        AdaptiveStrategy(target="medium")


def _traces():
    gold = ["12 + 30 = 42", "42 / 6 = 7", "7 * 3 = 21. The answer is 21"]
    specs = [
        ("t-good", gold, True, [True, True, True]),
        ("t-bad1", ["12 + 30 = 42", "42 / 6 = 8", "8 * 3 = 24. The answer is 24"], False, [True, False, False]),
        ("t-bad0", ["12 + 30 = 40", "40 / 5 = 8", "8 * 3 = 24. The answer is 24"], False, [False, False, False]),
    ]
    traces, answers = [], {}
    for tid, steps, ok, gold_labels in specs:
        q = f"question of {tid}?"
        traces.append(Trace(tid, "p-" + tid, q, "21", steps, "fake", "21" if ok else "24", ok, gold_labels))
        answers[q] = ("21", gold_labels)
    return traces, answers


@pytest.mark.parametrize("strategy", ["full", "binary", "adaptive"])
def test_label_shard_bookkeeping(strategy):
    traces, answers = _traces()
    engine = FakeEngine(answers, p_good=1.0, p_recover=0.0)
    result = label_shard(engine, traces, LabelConfig(strategy=strategy, rollouts=4), grade_many=fake_grade_many)
    labels = {r["trace_id"]: r for r in result.labels}
    for t in traces:
        row = labels[t.trace_id]
        assert row["labels"] == t.gold_labels, strategy
        assert row["completions"] == t.steps and row["prompt"].startswith(t.question)
        assert row["first_error"] == next((i for i, x in enumerate(t.gold_labels) if not x), None)
        assert sum(row["n_rollouts"]) == sum(1 for r in result.rollouts if r["trace_id"] == t.trace_id)
    assert result.stats["rollouts"] == len(result.rollouts)
    # one engine call per round, carrying every open prefix of the shard
    assert len(engine.calls) == result.stats["rounds"]
    if strategy == "full":
        assert len(engine.calls) == 1 and len(engine.calls[0]) == 6
    else:
        assert labels["t-good"]["n_rollouts"] == [0, 0, 0]
    keys = {(r["trace_id"], r["step_index"], r["sample_index"]) for r in result.rollouts}
    assert len(keys) == len(result.rollouts)  # no duplicate rollout ids


def test_label_shard_is_reproducible():
    traces, answers = _traces()
    cfg = LabelConfig(strategy="full", rollouts=4)
    a = label_shard(FakeEngine(answers, 0.6, 0.1), traces, cfg, grade_many=fake_grade_many)
    b = label_shard(FakeEngine(answers, 0.6, 0.1), traces, cfg, grade_many=fake_grade_many)
    assert a.labels == b.labels and a.rollouts == b.rollouts


def test_aggregate_marks_inferred_steps():
    traces, _ = _traces()
    state = new_state(3, outcome_correct=True, has_answer=True)
    row = aggregate(traces[0], state, "binary", "v")
    assert row.labels == [True, True, True] and row.soft_labels == [1.0, 1.0, 1.0] and row.n_rollouts == [0, 0, 0]
