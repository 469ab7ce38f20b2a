"""Table-driven tests of the verifier: every tuned row of tests/verifier_cases.py must pass.

The held-out rows (tests/verifier_heldout.py) are not asserted row by row: they are scored
by bench/verifier_agreement.py. Only the safety property is asserted on them here: no
false positive outside the contested rows.
"""

from __future__ import annotations

import pytest

from verifier_cases import ADVERSARIAL, EQUIV_CASES, EXTRACT_CASES, GRADE_CASES, MV_TESTS, SOURCES
from verifier_heldout import HELDOUT
from verifier_heldout import SOURCES as HELDOUT_SOURCES
from verifiers import Verdict, extract_answer, grade, grade_many, is_equivalent


def _id(x: object) -> str:
    return repr(x)[:40]


def test_table_is_big_and_cited() -> None:
    tuned = EXTRACT_CASES + EQUIV_CASES + GRADE_CASES + MV_TESTS + ADVERSARIAL
    assert len(tuned) + len(HELDOUT) >= 400 and len(HELDOUT) >= 100
    assert {c.source for c in EQUIV_CASES + GRADE_CASES + MV_TESTS} <= set(SOURCES)
    assert {h.source.split(":")[0] for h in HELDOUT} <= set(HELDOUT_SOURCES)
    assert {"mv", "prm", "qwen", "ours", "issue", "adv"} <= {c.source for c in EQUIV_CASES + GRADE_CASES}
    assert sum(bool(c.contested) for c in EQUIV_CASES + GRADE_CASES + MV_TESTS) >= 20
    assert sum(bool(h.contested) for h in HELDOUT) >= 20


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


def test_math_verify_test_rows() -> None:
    verdicts = grade_many([(c.pred, c.gold) for c in MV_TESTS])
    wrong = [(c.gold, c.pred[-60:], v.status) for c, v in zip(MV_TESTS, verdicts)
             if v.correct is not (c.expected == "correct")]
    assert wrong == []


def test_no_false_positive_on_the_held_out_rows() -> None:
    rows = [h for h in HELDOUT if not h.contested and not h.correct]
    verdicts = grade_many([(h.response, h.gold) for h in rows])
    assert [(h.source, h.gold) for h, v in zip(rows, verdicts) if v.correct] == []


def test_equivalence_is_mostly_symmetric_on_the_table() -> None:
    # Swapping pred and gold must not turn a correct pair into an incorrect one, except
    # where the convention is one-sided (a percentage or decimal gold, a bare pred list).
    pairs = [(c.gold, c.pred) for c in EQUIV_CASES if c.expected and c.source != "adv"]
    verdicts = grade_many([(f"The answer is ${g}$", p) for p, g in pairs if "$" not in g])
    assert sum(v.correct for v in verdicts) >= 0.9 * len(verdicts)


def test_verdict_is_frozen_and_typed() -> None:
    v = Verdict("correct", "5")
    assert v.correct and v.extracted == "5" and v.detail == ""
    with pytest.raises(Exception):
        v.status = "incorrect"  # type: ignore[misc]
    assert not Verdict("timeout").correct and not Verdict("error").correct
