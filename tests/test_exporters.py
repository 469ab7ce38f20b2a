"""Exporters of StepLabels: TRL stepwise Parquet, Math-Shepherd JSONL (round trip), plain JSONL."""
from __future__ import annotations

import json

import pytest

from data.errors import RecordError
from data.exporters import export_labels, to_math_shepherd, to_trl
from data.parquet_io import read_rows, write_records
from data.records import StepLabels
from data.trace_io import import_labeled


def _labels(i: int, labels: list[bool], question: str | None = None) -> StepLabels:
    steps = [f"{i} + {k} = {i + k}" for k in range(len(labels) - 1)] + [f"The answer is {i}"]
    first_error = labels.index(False) if False in labels else None
    return StepLabels(
        prompt=question or f"Ann has {i} pens. She gets 2 more. How many pens?",
        completions=steps, labels=labels, trace_id=f"t{i}", problem_id=f"p{i}",
        soft_labels=[0.75 if ok else 0.0 for ok in labels], n_rollouts=[8] * len(labels),
        n_correct=[6 if ok else 0 for ok in labels], first_error=first_error, strategy="full",
        policy="tiny", verifier="math-verify", gold_labels=None,
    )


@pytest.fixture
def labels_dir(tmp_path):
    records = [_labels(1, [True, True, True]), _labels(2, [True, False, False]),
               _labels(3, [False, False]), _labels(4, [True], question="Line one.\nWhat is 4 + 0?\n")]
    out = tmp_path / "labels"
    write_records(out / "shard-00000.parquet", records[:2])
    write_records(out / "shard-00001.parquet", records[2:])
    return out


def test_to_trl(labels_dir):
    rows = read_rows(labels_dir)
    trl = to_trl(rows)
    assert len(trl) == 4
    assert trl[1] == {"prompt": rows[1]["prompt"], "completions": rows[1]["completions"], "labels": [True, False, False]}
    assert all(set(r) == {"prompt", "completions", "labels"} for r in trl)


def test_to_math_shepherd_layout(labels_dir):
    rows = read_rows(labels_dir)
    ms = to_math_shepherd(rows)[1]
    prompt = rows[1]["prompt"]
    assert ms["input"] == f"{prompt}\n2 + 0 = 2 ки\n2 + 1 = 3 ки\nThe answer is 2 ки"
    assert ms["label"] == f"{prompt}\n2 + 0 = 2 +\n2 + 1 = 3 -\nThe answer is 2 -"
    assert (ms["task"], ms["trace_id"], ms["problem_id"]) == ("prm-factory", "t2", "p2")
    other = to_math_shepherd(rows[:1], step_tag="<step>")[0]
    assert other["input"].endswith("The answer is 1 <step>")


def test_math_shepherd_round_trip(labels_dir, tmp_path):
    out = tmp_path / "export" / "ms.jsonl"
    assert export_labels(labels_dir, out, fmt="math-shepherd") == 4
    rows = read_rows(labels_dir)
    traces = import_labeled(out, fmt="math-shepherd")
    assert [t.steps for t in traces] == [r["completions"] for r in rows]
    assert [t.gold_labels for t in traces] == [r["labels"] for r in rows]
    assert [t.question for t in traces] == [r["prompt"].strip() for r in rows]
    assert [(t.trace_id, t.problem_id) for t in traces] == [(r["trace_id"], r["problem_id"]) for r in rows]
    line = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert "ки" in line["input"]  # written as UTF-8 text, not \u escapes only


def test_trl_parquet_loads_with_datasets(labels_dir, tmp_path):
    datasets = pytest.importorskip("datasets")
    out = tmp_path / "trl" / "train.parquet"
    assert export_labels(labels_dir, out, fmt="trl") == 4
    ds = datasets.load_dataset("parquet", data_files=str(out), split="train", cache_dir=str(tmp_path / "hf_cache"))
    assert ds.column_names == ["prompt", "completions", "labels"]
    assert ds.features["labels"].feature.dtype == "bool"
    assert ds.features["completions"].feature.dtype == "string"
    assert ds[1]["labels"] == [True, False, False]
    assert ds[3]["completions"] == ["The answer is 4"]
    assert sorted(p.name for p in out.parent.iterdir()) == ["train.parquet"]  # no temp file left


def test_jsonl_keeps_all_columns(labels_dir, tmp_path):
    out = tmp_path / "all.jsonl"
    assert export_labels(labels_dir, out, fmt="jsonl") == 4
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert set(rows[0]) == set(StepLabels.SCHEMA.names)
    assert rows[1]["first_error"] == 1 and rows[1]["soft_labels"] == [0.75, 0.0, 0.0]
    assert rows[0]["first_error"] is None


def test_export_replaces_existing_file(labels_dir, tmp_path):
    out = tmp_path / "ms.jsonl"
    out.write_text("old\n")
    export_labels(labels_dir, out, fmt="math-shepherd")
    assert len(out.read_text().splitlines()) == 4


def test_export_errors(labels_dir, tmp_path):
    with pytest.raises(ValueError, match="unknown fmt"):
        export_labels(labels_dir, tmp_path / "x", fmt="csv")
    with pytest.raises(RecordError, match="no such file"):
        export_labels(tmp_path / "missing", tmp_path / "x.parquet")
    rows = read_rows(labels_dir)
    with pytest.raises(RecordError, match=r"<rows>: record 2: field labels: 2 labels for 3 completions"):
        to_trl([rows[0], {**rows[1], "labels": [True, False]}])
    with pytest.raises(RecordError, match="record 1: field completions: contains the step tag"):
        to_math_shepherd([{**rows[0], "completions": ["a ки b", "c", "d"]}])
    with pytest.raises(RecordError, match="record 1: field prompt: missing"):
        to_trl([{"completions": [], "labels": []}])
