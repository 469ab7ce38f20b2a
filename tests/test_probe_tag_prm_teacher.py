"""The tag-PRM teacher probes (bench/probes): altered copies and the altered/original pairing."""
import doctest
import importlib.util
import random
from pathlib import Path

import pytest

pytest.importorskip("torch")
pa = pytest.importorskip("pyarrow")
import pyarrow.parquet as pq  # noqa: E402

PROBES = Path(__file__).parents[1] / "bench" / "probes"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, PROBES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


teacher = _load("tag_prm_teacher_labels")
paired = _load("tag_prm_paired_check")


def test_docstring_examples():
    assert doctest.testmod(teacher).failed == 0


def test_corrupt_step_changes_one_digit_of_the_result_and_its_repeat():
    rng = random.Random(3)
    for _ in range(200):
        got = teacher.corrupt_step("102 * 2 = 204. The answer is 204", rng)
        head, rest = got.split(" = ")
        number, tail = rest.split(".", 1)
        assert head == "102 * 2" and tail == f" The answer is {number}"
        assert len(number) == 3 and number[0] != "0" and number != "204"
        assert sum(a != b for a, b in zip(number, "204")) == 1


def test_corrupted_copies_cut_after_the_altered_step():
    rows = [{"trace_id": "t1", "problem_id": "p1", "prompt": "q\n", "labels": [True, True], "soft_labels": [1.0, 1.0],
             "completions": ["5 + 3 = 8", "8 * 2 = 16. The answer is 16"]},
            {"trace_id": "t2", "problem_id": "p2", "prompt": "q\n", "labels": [True], "soft_labels": [1.0],
             "completions": ["no result here"]}]
    copies = teacher.corrupted_copies(rows, 3, seed=0)
    assert len(copies) == 3 and all(c["problem_id"] == "p1" for c in copies)
    for c in copies:
        _, k, original = c["trace_id"].split("-", 2)
        steps = rows[0]["completions"]
        assert original == "t1" and len(c["completions"]) == int(k) + 1
        assert c["completions"][:-1] == steps[:int(k)] and c["completions"][-1] != steps[int(k)]
    assert teacher.corrupted_copies(rows, 3, seed=0) == copies


def test_step_pairs_match_altered_and_original_on_validation_problems(tmp_path):
    def row(trace_id, problem_id, steps, labels):
        return {"trace_id": trace_id, "problem_id": problem_id, "prompt": "q\n", "completions": steps,
                "labels": labels, "soft_labels": [float(x) for x in labels]}

    val = next(f"p{i}" for i in range(100) if paired.split_of(f"p{i}", 0.2) == "val")
    train = next(f"p{i}" for i in range(100) if paired.split_of(f"p{i}", 0.2) == "train")
    originals = [row("teacher-a-1", val, ["5 + 3 = 8", "8 * 2 = 16"], [True, True]),
                 row("teacher-b", train, ["5 + 3 = 8"], [True])]
    altered = [row("teacher-corrupt0-1-a-1", val, ["5 + 3 = 8", "8 * 2 = 26"], [True, False]),
               row("teacher-corrupt0-0-a-1", val, ["5 + 3 = 9"], [True]),          # teacher calls it good: skipped
               row("teacher-corrupt0-0-b", train, ["5 + 3 = 9"], [False])]         # training problem: skipped
    pq.write_table(pa.Table.from_pylist(originals), tmp_path / "teacher.parquet")
    pq.write_table(pa.Table.from_pylist(altered), tmp_path / "corrupt.parquet")
    pairs = paired.step_pairs(tmp_path, 0.2, limit=10)
    assert len(pairs) == 1
    a, o = pairs[0]
    assert a["completions"] == ["5 + 3 = 8", "8 * 2 = 26"] and o["completions"] == ["5 + 3 = 8", "8 * 2 = 16"]


def test_step_pairs_name_missing_files_and_unknown_traces(tmp_path):
    with pytest.raises(FileNotFoundError, match="teacher.parquet"):
        paired.step_pairs(tmp_path, 0.2, limit=10)
    row = {"trace_id": "teacher-corrupt0-0-ghost", "problem_id": "p", "prompt": "q\n", "completions": ["1 + 1 = 3"],
           "labels": [False], "soft_labels": [0.0]}
    pq.write_table(pa.Table.from_pylist([{**row, "trace_id": "teacher-other"}]), tmp_path / "teacher.parquet")
    pq.write_table(pa.Table.from_pylist([row]), tmp_path / "corrupt.parquet")
    with pytest.raises(ValueError, match="teacher-corrupt0-0-ghost.*trace_id"):
        paired.step_pairs(tmp_path, 0.2, limit=10)


def test_taught_rows_threshold_the_teacher_scores():
    class Teacher:
        def score_batch(self, items):
            return [[0.9, 0.2][: len(steps)] for _, steps in items]

    rows = [{"trace_id": f"t{i}", "problem_id": "p", "prompt": "q\n", "completions": ["a", "b"], "labels": [True, True],
             "soft_labels": [1.0, 1.0]} for i in range(3)]
    got = teacher.taught_rows(rows, Teacher(), "teacher-", chunk=2)
    assert [r["trace_id"] for r in got] == ["teacher-t0", "teacher-t1", "teacher-t2"]
    assert all(r["labels"] == [True, False] and r["soft_labels"] == [0.9, 0.2] for r in got)
