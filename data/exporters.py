"""Exporters of StepLabels rows: TRL stepwise supervision, Math-Shepherd, plain JSONL.

Rows are dicts as :func:`data.parquet_io.read_rows` returns them.

>>> row = {"prompt": "What is 2 + 3?", "completions": ["2 + 3 = 5", "The answer is 5"],
...        "labels": [True, True], "trace_id": "t1", "problem_id": "p1"}
>>> to_trl([row])[0]["labels"]
[True, True]
>>> ms = to_math_shepherd([row])[0]
>>> print(ms["input"])
What is 2 + 3?
2 + 3 = 5 ки
The answer is 5 ки
>>> print(ms["label"])
What is 2 + 3?
2 + 3 = 5 +
The answer is 5 +
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import pyarrow as pa

from data.errors import RecordError

EXPORT_FORMATS = ("trl", "math-shepherd", "jsonl")
MATH_SHEPHERD_TASK = "prm-factory"

TRL_SCHEMA = pa.schema(
    [("prompt", pa.string()), ("completions", pa.list_(pa.string())), ("labels", pa.list_(pa.bool_()))]
)

_ROWS = "<rows>"


def _checked(rows: Sequence[dict[str, Any]], where: str = _ROWS):
    """Yield ``(row number, prompt, completions, labels)``, checking the TRL columns of every row."""
    for i, row in enumerate(rows, 1):
        for column in ("prompt", "completions", "labels"):
            if row.get(column) is None:
                raise RecordError(where, i, column, "missing")
        prompt, completions, labels = row["prompt"], list(row["completions"]), list(row["labels"])
        if not isinstance(prompt, str):
            raise RecordError(where, i, "prompt", f"expected text, got {type(prompt).__name__}")
        if not all(isinstance(c, str) for c in completions):
            raise RecordError(where, i, "completions", "expected a list of strings")
        if len(labels) != len(completions):
            raise RecordError(where, i, "labels", f"{len(labels)} labels for {len(completions)} completions")
        if not all(isinstance(b, bool) for b in labels):
            raise RecordError(where, i, "labels", "expected a list of booleans")
        yield i, prompt, completions, labels


def to_trl(rows: Sequence[dict[str, Any]], where: str = _ROWS) -> list[dict[str, Any]]:
    """TRL stepwise supervision: ``prompt``, ``completions`` (list[str]) and ``labels`` (list[bool])."""
    return [{"prompt": p, "completions": c, "labels": l} for _, p, c, l in _checked(rows, where)]


def to_math_shepherd(rows: Sequence[dict[str, Any]], step_tag: str = "ки", where: str = _ROWS) -> list[dict[str, Any]]:
    """Math-Shepherd rows: ``input`` is the prompt and then each step followed by `` <tag>``, one
    per line; ``label`` is the same text with each tag replaced by ``+`` or ``-``; ``task`` is
    ``prm-factory``. Prompt and steps are stripped of surrounding whitespace. ``prompt``,
    ``trace_id`` and ``problem_id`` ride along, so :func:`data.trace_io.import_labeled` gives back
    the same question, steps, labels and ids.
    """
    out = []
    for i, prompt, completions, labels in _checked(rows, where):
        prompt = prompt.strip()
        for field, texts in (("prompt", [prompt]), ("completions", completions)):
            if any(step_tag in t for t in texts):
                raise RecordError(where, i, field, f"contains the step tag {step_tag!r}")
        steps = [c.strip() for c in completions]
        if any(not s for s in steps):
            raise RecordError(where, i, "completions", "empty step")
        if not prompt:
            raise RecordError(where, i, "prompt", "empty")
        row = rows[i - 1]
        record = {
            "input": "\n".join([prompt] + [f"{s} {step_tag}" for s in steps]),
            "label": "\n".join([prompt] + [f"{s} {'+' if ok else '-'}" for s, ok in zip(steps, labels)]),
            "task": MATH_SHEPHERD_TASK,
            "prompt": prompt,
        }
        for key in ("trace_id", "problem_id"):
            if row.get(key) is not None:
                record[key] = row[key]
        out.append(record)
    return out


def export_labels(labels_dir: str | os.PathLike, out_path: str | os.PathLike, fmt: str = "trl") -> int:
    """Export the StepLabels Parquet under ``labels_dir`` (a file or shard dir) to ``out_path``.

    ``trl``: Parquet with ``prompt, completions, labels`` (``datasets.load_dataset("parquet", ...)``
    reads it); ``math-shepherd``: JSONL; ``jsonl``: every column as JSONL. Written atomically.
    Returns the number of rows written.
    """
    from data.loaders import write_jsonl_atomic
    from data.parquet_io import read_rows, write_rows_atomic

    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"export_labels: unknown fmt {fmt!r}; expected one of {EXPORT_FORMATS}")
    labels_dir = Path(labels_dir)
    if not labels_dir.exists():
        raise RecordError(labels_dir, None, None, "no such file or directory")
    try:
        rows = read_rows(labels_dir)
    except FileNotFoundError as exc:
        raise RecordError(labels_dir, None, None, str(exc)) from None
    where = str(labels_dir)
    if fmt == "trl":
        out = to_trl(rows, where)
        write_rows_atomic(out_path, out, TRL_SCHEMA, "trl_stepwise")
        return len(out)
    if fmt == "math-shepherd":
        return write_jsonl_atomic(out_path, to_math_shepherd(rows, where=where))
    for _ in _checked(rows, where):
        pass
    return write_jsonl_atomic(out_path, rows)
