"""Table-driven tests of the verifier: every row of tests/verifier_cases.py must pass."""

from __future__ import annotations

import pytest

from verifier_cases import EQUIV_CASES, EXTRACT_CASES, GRADE_CASES
from verifiers import Verdict, extract_answer, grade, grade_many, is_equivalent


def _id(x: object) -> str:
    return repr(x)[:40]


def test_table_is_big_enough() -> None:
    assert len(EXTRACT_CASES) + len(EQUIV_CASES) + len(GRADE_CASES) >= 150
    sources = {c.source for c in EQUIV_CASES + GRADE_CASES}
    assert {"mv", "prm", "qwen", "ours", "adv"} <= sources


@pytest.mark.parametrize("text,expected", EXTRACT_CASES, ids=[_id(t) for t, _ in EXTRACT_CASES])
def test_extract_answer(text: object, expected: str | None) -> None:
    assert extract_answer(text) == expected


@pytest.mark.parametrize("case", EQUIV_CASES, ids=[f"{_id(c.pred)}~{_id(c.gold)}" for c in EQUIV_CASES])
def test_is_equivalent(case) -> None:
    assert is_equivalent(case.pred, case.gold) is case.expected, case.note


@pytest.mark.parametrize("case", GRADE_CASES, ids=[f"{_id(c.pred)}~{_id(c.gold)}" for c in GRADE_CASES])
def test_grade(case) -> None:
    v = grade(case.pred, case.gold)
    assert isinstance(v, Verdict)
    assert v.status == case.expected, (v, case.note)
    assert v.correct is (case.expected == "correct")


def test_grade_many_matches_grade_on_the_table() -> None:
    pairs = [(c.pred, c.gold) for c in GRADE_CASES]
    assert [v.status for v in grade_many(pairs, workers=2)] == [c.expected for c in GRADE_CASES]


def test_equivalence_is_mostly_symmetric_on_the_table() -> None:
    # Swapping pred and gold must not turn a correct pair into an incorrect one, except
    # where the convention is one-sided (a percentage gold, a bare pred list).
    pairs = [(c.gold, c.pred) for c in EQUIV_CASES if c.expected and c.source != "adv"]
    verdicts = grade_many([(f"The answer is ${g}$", p) for p, g in pairs if "$" not in g])
    assert sum(v.correct for v in verdicts) >= 0.9 * len(verdicts)


def test_verdict_is_frozen_and_typed() -> None:
    v = Verdict("correct", "5")
    assert v.correct and v.extracted == "5" and v.detail == ""
    with pytest.raises(Exception):
        v.status = "incorrect"  # type: ignore[misc]
    assert not Verdict("timeout").correct
