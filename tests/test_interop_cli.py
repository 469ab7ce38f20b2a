"""``prm-factory export`` / ``prm-factory import`` through ``pipelines.cli.main``."""
from __future__ import annotations

import json

import pytest

from data.parquet_io import read_rows, write_json_atomic, write_records
from data.records import StepLabels
from data.trace_io import load_traces, validate_trace
from pipelines.cli.main import main


def _labels(i: int, labels: list[bool]) -> StepLabels:
    steps = [f"{i} + {k} = {i + k}" for k in range(len(labels) - 1)] + [f"The answer is {i}"]
    return StepLabels(
        prompt=f"Ann has {i} pens. She gets 2 more. How many pens?", completions=steps, labels=labels,
        trace_id=f"t{i}", problem_id=f"p{i}", soft_labels=[0.75 if ok else 0.0 for ok in labels],
        n_rollouts=[8] * len(labels), n_correct=[6 if ok else 0 for ok in labels],
        first_error=labels.index(False) if False in labels else None, strategy="full", policy="tiny",
        verifier="math-verify", gold_labels=None,
    )


@pytest.fixture
def run_dir(tmp_path):
    """A label run directory: labels/ shards, plus rollouts/ that an export must not pick up."""
    run = tmp_path / "run"
    records = [_labels(1, [True, True, True]), _labels(2, [True, False, False]), _labels(3, [False, False])]
    write_records(run / "labels" / "shard-00000.parquet", records[:2])
    write_records(run / "labels" / "shard-00001.parquet", records[2:])
    from data.records import Rollout
    write_records(run / "rollouts" / "shard-00000.parquet", [Rollout("t1", 0, 0, "x", "1", "correct", 3)])
    write_json_atomic(run / "stats.json", {"traces": 3})
    return run


def test_format_lists_match_the_library():
    from data.exporters import EXPORT_FORMATS
    from data.trace_io import IMPORT_FORMATS
    from pipelines.cli import interop_cmds as interop

    assert interop.EXPORT_FORMATS == EXPORT_FORMATS and interop.IMPORT_FORMATS == IMPORT_FORMATS


@pytest.mark.parametrize("fmt, name", [("trl", "out.parquet"), ("math-shepherd", "ms.jsonl"), ("jsonl", "all.jsonl")])
def test_export_formats(run_dir, tmp_path, capsys, fmt, name):
    out = tmp_path / "export" / name
    assert main(["export", "--labels", str(run_dir / "labels"), "--format", fmt, "--out", str(out)]) == 0
    assert "wrote 3 rows" in capsys.readouterr().out
    if fmt == "trl":
        rows = read_rows(out)
        assert [set(r) for r in rows] == [{"prompt", "completions", "labels"}] * 3
        assert rows[1]["labels"] == [True, False, False]
    else:
        lines = [json.loads(x) for x in out.read_text().splitlines()]
        assert len(lines) == 3
        key = "label" if fmt == "math-shepherd" else "soft_labels"
        assert key in lines[0]


def test_export_accepts_run_dir(run_dir, tmp_path, capsys):
    out = tmp_path / "trl.parquet"
    assert main(["export", "--labels", str(run_dir), "--format", "trl", "--out", str(out)]) == 0
    assert "wrote 3 rows" in capsys.readouterr().out and len(read_rows(out)) == 3


def test_export_errors(run_dir, tmp_path, capsys):
    out = str(tmp_path / "x.parquet")
    assert main(["export", "--labels", str(tmp_path / "missing"), "--format", "trl", "--out", out]) == 2
    err = capsys.readouterr().err
    assert "prm-factory export: error" in err and "missing" in err
    with pytest.raises(SystemExit) as exc:
        main(["export", "--labels", str(run_dir), "--format", "csv", "--out", out])
    assert exc.value.code == 2
    assert "invalid choice: 'csv'" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["export", "--labels", str(tmp_path / "empty"), "--format", "jsonl", "--out", out]) == 2
    assert "no .parquet files" in capsys.readouterr().err


def _ms_row(question: str, steps: list[str], marks: str) -> dict:
    body = "\n".join(f"{s} ки" for s in steps)
    label = "\n".join(f"{s} {m}" for s, m in zip(steps, marks))
    return {"input": f"{question} {body}", "label": f"{question} {label}", "task": "GSM8K"}


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_import_math_shepherd(tmp_path, capsys):
    q = "Tom has 3 apples and buys 4 more. How many apples?"
    src = _jsonl(tmp_path / "ms.jsonl", [
        _ms_row(q, ["Step 1: 3 + 4 = 7.", "Step 2: The answer is: 7"], "++"),
        _ms_row(q, ["Step 1: 3 + 4 = 8.", "Step 2: The answer is: 8"], "--"),
    ])
    out = tmp_path / "imported"
    assert main(["import", "--format", "math-shepherd", "--input", str(src), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "imported 2 traces (1 problems, 4 steps, 2 gold-positive, 2 gold-negative)" in printed
    assert str(out / "traces" / "shard-00000.parquet") in printed
    traces = load_traces(out / "traces")  # what `prm-factory label --traces OUT/traces` reads
    assert [t.gold_labels for t in traces] == [[True, True], [False, False]]
    assert {t.gold_answer for t in traces} == {"7"} and traces[0].question == q
    assert all(validate_trace(t) is None for t in traces)


def test_import_prm800k(tmp_path, capsys):
    def completion(text, rating):
        return {"text": text, "rating": rating, "flagged": None}

    row = {"labeler": "l", "timestamp": "2023-01-01",
           "question": {"problem": "What is $1+1$?", "ground_truth_answer": "2", "pre_generated_steps": None},
           "label": {"finish_reason": "solution", "steps": [
               {"completions": [completion("We add: $1+1=2$.", 1)], "human_completion": None, "chosen_completion": 0},
               {"completions": [completion("# Answer\n\n2", 1)], "human_completion": None, "chosen_completion": 0},
           ]}}
    src = _jsonl(tmp_path / "prm.jsonl", [row])
    out = tmp_path / "imp"
    assert main(["import", "--format", "prm800k", "--input", str(src), "--out", str(out)]) == 0
    assert "imported 1 traces" in capsys.readouterr().out
    (t,) = load_traces(out / "traces")
    assert (t.gold_answer, t.gold_labels, t.policy) == ("2", [True, True], "prm800k")


def test_export_import_round_trip(run_dir, tmp_path, capsys):
    ms = tmp_path / "ms.jsonl"
    assert main(["export", "--labels", str(run_dir), "--format", "math-shepherd", "--out", str(ms)]) == 0
    assert main(["import", "--format", "math-shepherd", "--input", str(ms), "--out", str(tmp_path / "back")]) == 0
    traces = load_traces(tmp_path / "back" / "traces")
    rows = read_rows(run_dir / "labels")
    assert [t.trace_id for t in traces] == [r["trace_id"] for r in rows]
    assert [t.steps for t in traces] == [r["completions"] for r in rows]
    assert [t.gold_labels for t in traces] == [r["labels"] for r in rows]


def test_import_errors(tmp_path, capsys):
    out = str(tmp_path / "o")
    assert main(["import", "--format", "prm800k", "--input", str(tmp_path / "nope.jsonl"), "--out", out]) == 2
    assert "nope.jsonl" in capsys.readouterr().err
    bad = _jsonl(tmp_path / "bad.jsonl", [{"input": "Q? Step 1: a ки", "label": "Q? Step 1: b +"}])
    assert main(["import", "--format", "math-shepherd", "--input", str(bad), "--out", out]) == 2
    err = capsys.readouterr().err
    assert "bad.jsonl" in err and "record 1" in err and "field label" in err
    empty = _jsonl(tmp_path / "empty.jsonl", [])
    assert main(["import", "--format", "math-shepherd", "--input", str(empty), "--out", out]) == 2
    assert "no math-shepherd rows" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["import", "--format", "gsm8k", "--input", str(bad), "--out", out])
    assert exc.value.code == 2 and "invalid choice: 'gsm8k'" in capsys.readouterr().err
    assert not (tmp_path / "o" / "traces").exists()
