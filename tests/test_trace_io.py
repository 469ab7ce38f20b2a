"""Reading our own traces and importing Math-Shepherd / PRM800K step-labeled files."""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data.errors import RecordError
from data.parquet_io import write_records
from data.records import Trace
from data.trace_io import (
    REQUIRED_TRACE_COLUMNS,
    find_duplicate_ids,
    import_labeled,
    load_traces,
    parse_math_shepherd,
    validate_trace,
)


def _trace(i: int, **kw) -> Trace:
    values = dict(trace_id=f"t{i}", problem_id=f"p{i // 2}", question=f"Ann has {i} pens. How many?",
                  gold_answer=str(i), steps=[f"{i} + 0 = {i}", f"The answer is {i}"], policy="tiny",
                  final_answer=str(i), outcome_correct=True, gold_labels=[True, True], source="synthetic",
                  gold_steps=None)
    values.update(kw)
    return Trace(**values)


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- load_traces


def test_load_traces_parquet_file_dir_and_jsonl(tmp_path):
    traces = [_trace(i) for i in range(5)]
    write_records(tmp_path / "one.parquet", traces)
    assert load_traces(tmp_path / "one.parquet") == traces
    write_records(tmp_path / "shards" / "s0.parquet", traces[:2])
    write_records(tmp_path / "shards" / "s1.parquet", traces[2:])
    assert load_traces(tmp_path / "shards") == traces
    path = _jsonl(tmp_path / "t.jsonl", [t.to_dict() for t in traces])
    assert load_traces(path) == traces


def test_load_traces_minimal_columns(tmp_path):
    path = _jsonl(tmp_path / "user.jsonl", [
        {"trace_id": "u1", "problem_id": "p1", "question": "What is 2 + 3?", "gold_answer": 5,
         "steps": ["2 + 3 = 5", "The answer is 5"], "extra": "ignored"}])
    (t,) = load_traces(path)
    assert (t.trace_id, t.gold_answer, t.policy, t.outcome_correct, t.gold_labels) == ("u1", "5", "", False, None)


@pytest.mark.parametrize("missing", REQUIRED_TRACE_COLUMNS)
def test_missing_required_column_parquet(tmp_path, missing):
    good = tmp_path / "shards" / "s0.parquet"
    write_records(good, [_trace(0)])
    table = pq.read_table(good).drop_columns([missing])
    pq.write_table(table, tmp_path / "shards" / "s1.parquet")
    with pytest.raises(RecordError) as err:
        load_traces(tmp_path / "shards")
    assert err.value.path.endswith("s1.parquet") and err.value.field == missing
    assert f"s1.parquet: field {missing}: missing required column" in str(err.value)


def test_missing_required_column_jsonl(tmp_path):
    row = _trace(0).to_dict()
    del row["gold_answer"]
    path = _jsonl(tmp_path / "t.jsonl", [_trace(1).to_dict(), row])
    with pytest.raises(RecordError, match=r"t.jsonl: record 2: field gold_answer: missing required column"):
        load_traces(path)


def test_bad_values_and_files(tmp_path):
    path = _jsonl(tmp_path / "t.jsonl", [{**_trace(0).to_dict(), "steps": "one string"}])
    with pytest.raises(RecordError, match="record 1: field steps: expected a list of strings"):
        load_traces(path)
    path = _jsonl(tmp_path / "g.jsonl", [{**_trace(0).to_dict(), "gold_labels": [1, 0]}])
    with pytest.raises(RecordError, match="field gold_labels"):
        load_traces(path)
    (tmp_path / "broken.jsonl").write_text("{not json\n")
    with pytest.raises(RecordError, match="broken.jsonl: record 1: invalid JSON"):
        load_traces(tmp_path / "broken.jsonl")
    with pytest.raises(RecordError, match="no such file"):
        load_traces(tmp_path / "absent.parquet")


def test_validate_trace_reasons():
    assert validate_trace(_trace(1)) is None
    assert validate_trace(_trace(1, steps=None)) == "no steps"
    assert validate_trace(_trace(1, steps=[], gold_labels=None)) == "empty step list"
    assert validate_trace(_trace(1, steps=["a", ""])) == "step 1 is empty"
    assert validate_trace(_trace(1, question=" ")) == "empty question"
    assert validate_trace(_trace(1, gold_answer="")) == "empty gold answer"
    assert validate_trace(_trace(1, steps=["a" * 2001, "b"])) == "step 0 is 2001 chars (max 2000)"
    assert validate_trace(_trace(1, steps=["a" * 2001, "b"]), max_step_chars=3000) is None
    assert validate_trace(_trace(1, gold_labels=[True])) == "1 gold labels for 2 steps"


def test_find_duplicate_ids():
    traces = [_trace(1), _trace(2), _trace(1), _trace(3), _trace(3), _trace(3)]
    assert find_duplicate_ids(traces) == {"t1", "t3"}
    assert find_duplicate_ids([]) == set()


# --------------------------------------------------------------------------- Math-Shepherd

BUZZ_Q = ("If Buzz bought a pizza with 78 slices at a restaurant and then decided to share it with the waiter "
          "in the ratio of 5:8, with Buzz's ratio being 5, what's twenty less the number of slices of pizza "
          "that the waiter ate?")
BUZZ_STEPS = [
    "Step 1: The total ratio representing the pizza is 5+8 = <<5+8=13>>13.",
    "Step 2: The waiter ate 13 x 8 / 13 = <<13*8/13=6>>6 slices of the pizza.",
    "Step 3: Buzz ate 78 - 6 = <<78-6=72>>72 slices of the pizza.",
    "Step 4: The waiter ate 20 less than the number of slices that Buzz ate which is 72 - 20 = 52.",
    "Step 5: The waiter ate 52 slices of the pizza. The answer is: 52",
]
BUZZ_GOOD = [
    "Step 1: The total ratio representing the pizza is 5+8 = <<5+8=13>>13.",
    "Step 2: The waiter ate 8/13 * 78 = <<8/13*78=48>>48 slices of the pizza.",
    "Step 3: Twenty less than that is 48 - 20 = <<48-20=28>>28. The answer is: 28",
]


def _ms_row(question: str, steps: list[str], marks: str, task: str = "GSM8K") -> dict:
    """A row in the Math-Shepherd layout: question, a space, then steps each closed by ' ки'."""
    body = "\n".join(f"{s} ки" for s in steps)
    label = "\n".join(f"{s} {m}" for s, m in zip(steps, marks))
    return {"input": f"{question} {body}", "label": f"{question} {label}", "task": task}


def test_import_math_shepherd(tmp_path):
    path = _jsonl(tmp_path / "ms.jsonl", [
        _ms_row(BUZZ_Q, BUZZ_STEPS, "++---"),
        _ms_row(BUZZ_Q, BUZZ_GOOD, "+++"),
        _ms_row("What is 3 + 4?", ["Step 1: 3 + 4 = 8.", "Step 2: So it is 8 - 1 = 7. The answer is: 7"], "-+",
                task="MATH"),
    ])
    bad, good, recovered = import_labeled(path, fmt="math-shepherd")
    assert bad.question == BUZZ_Q and bad.steps == BUZZ_STEPS
    assert bad.gold_labels == [True, True, False, False, False]
    assert bad.gold_answer == good.gold_answer == "28"  # inferred from the solution whose last step is '+'
    assert bad.problem_id == good.problem_id and bad.trace_id != good.trace_id
    assert (bad.final_answer, bad.outcome_correct) == ("52", False)
    assert (good.final_answer, good.outcome_correct, good.gold_labels) == ("28", True, [True] * 3)
    assert bad.source == "math-shepherd/gsm8k" and recovered.source == "math-shepherd/math"
    # prefix semantics: a '+' after a '-' is still False
    assert recovered.gold_labels == [False, False] and recovered.outcome_correct is True
    assert recovered.gold_answer == "7"
    assert all(validate_trace(t) is None for t in (bad, good, recovered))


def test_import_math_shepherd_parquet(tmp_path):
    rows = [_ms_row(BUZZ_Q, BUZZ_GOOD, "++-")]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "ms.parquet")
    (t,) = import_labeled(tmp_path / "ms.parquet")
    assert t.gold_labels == [True, True, False] and t.gold_answer == ""


def test_parse_math_shepherd_question_split():
    q, steps, labels = parse_math_shepherd("What is 1+1?\nFirst 1+1=2 ки\nThe answer is 2 ки",
                                           "What is 1+1?\nFirst 1+1=2 +\nThe answer is 2 -")
    assert (q, steps, labels) == ("What is 1+1?", ["First 1+1=2", "The answer is 2"], [True, False])
    q, steps, _ = parse_math_shepherd("Line one.\nWhat now? 2 ки", "Line one.\nWhat now? 2 +",
                                      question="Line one.\nWhat now?")
    assert (q, steps) == ("Line one.\nWhat now?", ["2"])


@pytest.mark.parametrize("row, field", [
    ({"input": "Q? Step 1: a ки", "label": "Q? Step 1: b +"}, "label"),
    ({"input": "Q? Step 1: a ки", "label": "Q? Step 1: a ?"}, "label"),
    ({"input": "Q? Step 1: a", "label": "Q? Step 1: a"}, "input"),
    ({"input": "Q? Step 1: a ки tail", "label": "Q? Step 1: a + tail"}, "input"),
    ({"label": "Q? Step 1: a +"}, "input"),
])
def test_math_shepherd_bad_rows(tmp_path, row, field):
    path = _jsonl(tmp_path / "ms.jsonl", [_ms_row(BUZZ_Q, BUZZ_GOOD, "+++"), row])
    with pytest.raises(RecordError) as err:
        import_labeled(path, fmt="math-shepherd")
    assert (err.value.row, err.value.field) == (2, field)


# --------------------------------------------------------------------------- PRM800K


def _completion(text: str, rating: int | None, flagged=None) -> dict:
    return {"text": text, "rating": rating, "flagged": flagged}


def _prm_row(problem: str, gold: str, steps: list[dict], finish: str, pre: list[str] | None = None,
             labeler: str = "340d89bc-f5b7-45e9-b272-909ba68ee363") -> dict:
    """A PRM800K phase-2 line: question metadata, then label.steps with completions and ratings."""
    return {
        "labeler": labeler, "timestamp": "2023-01-22T04:34:27.052924", "generation": 9,
        "is_quality_control_question": False, "is_initial_screening_question": False,
        "question": {"problem": problem, "ground_truth_solution": f"... $\\boxed{{{gold}}}$.",
                     "ground_truth_answer": gold, "pre_generated_steps": pre,
                     "pre_generated_answer": None, "pre_generated_verifier_score": 0.5},
        "label": {"steps": steps, "total_time": 278270, "finish_reason": finish},
    }


def _step(*completions: dict, chosen: int | None = 0, human=None) -> dict:
    return {"completions": list(completions), "human_completion": human, "chosen_completion": chosen}


GCF_Q = "What is the greatest common factor of $20 !$ and $200,\\!000$?"
GCF_PRE = ["I want to find the largest positive integer that divides both $20 !$ and $200,\\!000$ evenly.",
           "One way to do this is to factor both numbers into prime factors and look for the common ones.",
           "I know that $200,\\!000 = 2^5\\cdot 10^4 = 2^9\\cdot 5^4$.",
           "So, the greatest common factor is $2^9\\cdot 5^4 = 320,\\!000$.\n\n# Answer\n\n320,000"]


def test_import_prm800k(tmp_path):
    found_error = _prm_row(GCF_Q, "40,\\!000", [
        _step(_completion(GCF_PRE[0], 0)),
        _step(_completion(GCF_PRE[1], 1)),
        _step(_completion("To factor $20 !$, I can use the fact ...", 0, False),
              _completion(GCF_PRE[2], -1), _completion("I can use a factor tree.", 0, False), chosen=None),
    ], "found_error", pre=GCF_PRE)
    solved = _prm_row("What is $1+1$?", "2", [
        _step(_completion("We add: $1+1=2$.", 1)),
        _step(_completion("Hmm, maybe 3?", -1), _completion("# Answer\n\n2", 1), chosen=1),
    ], "solution")
    phase1 = _prm_row("What is $2\\cdot 3$?", "6", [
        _step(_completion("It is 5.", -1), _completion("It is 7.", -1), chosen=None,
              human={"text": "It is $2\\cdot 3 = 6$.", "rating": None}),
        _step(_completion("# Answer\n\n6", 1)),
    ], "solution", labeler="other")
    broken = _prm_row("Broken?", "1", [_step(_completion("x", 0))], "bad_problem")
    path = _jsonl(tmp_path / "phase2_test.jsonl", [found_error, solved, broken, phase1])

    t1, t2, t3 = import_labeled(path, fmt="prm800k")  # the bad_problem row is skipped
    assert t1.question == GCF_Q and t1.gold_answer == "40,\\!000"
    assert t1.steps == GCF_PRE[:3] and t1.gold_labels == [True, True, False]
    assert (t1.outcome_correct, t1.final_answer, t1.source, t1.policy) == (False, None, "prm800k", "prm800k")
    assert t2.steps == ["We add: $1+1=2$.", "# Answer\n\n2"] and t2.gold_labels == [True, True]
    assert (t2.outcome_correct, t2.final_answer) == (True, "2")
    assert t3.steps == ["It is $2\\cdot 3 = 6$.", "# Answer\n\n6"] and t3.gold_labels == [True, True]
    assert len({t1.trace_id, t2.trace_id, t3.trace_id}) == 3
    assert all(validate_trace(t) is None for t in (t1, t2, t3))


def test_prm800k_prefix_semantics_and_errors(tmp_path):
    row = _prm_row("Q?", "1", [_step(_completion("a", -1)), _step(_completion("b", 1)),
                               _step(_completion("c", 0))], "give_up")
    (t,) = import_labeled(_jsonl(tmp_path / "p.jsonl", [row]), fmt="prm800k")
    assert t.gold_labels == [False, False, False]
    no_problem = {"label": {"steps": []}, "question": {"ground_truth_answer": "1"}}
    with pytest.raises(RecordError, match=r"p2.jsonl: record 2: field question.problem: missing"):
        import_labeled(_jsonl(tmp_path / "p2.jsonl", [row, no_problem]), fmt="prm800k")
    bad_index = _prm_row("Q?", "1", [_step(_completion("a", 1), chosen=4)], "solution")
    with pytest.raises(RecordError, match=r"record 1: field label.steps\[0\].chosen_completion"):
        import_labeled(_jsonl(tmp_path / "p3.jsonl", [bad_index]), fmt="prm800k")
    with pytest.raises(ValueError, match="unknown fmt"):
        import_labeled(tmp_path / "p.jsonl", fmt="openai")
