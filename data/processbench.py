"""ProcessBench rows: solutions whose earliest wrong step a human marked, read and turned into traces.

A row holds ``id``, ``generator`` (the model that wrote the solution), ``problem``, ``steps`` (a list
of strings), ``final_answer_correct`` and ``label``: the index of the earliest wrong step, or -1 when
every step is right. ``generator`` and ``final_answer_correct`` may be absent (``unknown``, None).

>>> row = parse_processbench_row({"id": "gsm8k-0", "generator": "Qwen2-7B-Instruct", "problem": "1 + 2?",
...                               "steps": ["1 + 2 = 4", "The answer is 4"], "final_answer_correct": False,
...                               "label": 0}, "pb.jsonl", 1)
>>> row.label, row.generator, first_error_labels(row.label, len(row.steps))
(0, 'Qwen2-7B-Instruct', [False, False])
>>> first_error_labels(-1, 2), first_error_labels(1, 3)
([True, True], [True, False, False])

``processbench_traces`` makes ``Trace`` rows whose ``gold_labels`` are those first-error labels, so
``prm-factory label`` runs on them and its Monte Carlo labels are scored against the human ones.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from data.errors import RecordError
from data.records import Trace, content_id

UNKNOWN_GENERATOR = "unknown"
SOURCE = "processbench"
_ANSWER_IS = re.compile(r"The answer is:?\s*(.+?)\s*\.?\s*$", re.S)


@dataclass(frozen=True)
class ProcessBenchRow:
    id: str
    generator: str
    problem: str
    steps: tuple[str, ...]
    final_answer_correct: bool | None
    label: int  # the earliest wrong step, -1: none


def stated_answer(step: str) -> str | None:
    """The final answer a step states (``verifiers.extract_answer``; a plain regex without it)."""
    try:
        from verifiers import extract_answer  # lazy: verifiers may pull in sympy
    except ImportError:
        m = _ANSWER_IS.search(step)
        return m.group(1).strip() if m else None
    return extract_answer(step)


def first_error_labels(label: int, n_steps: int) -> list[bool]:
    """Prefix step labels from a first-error index: every step before it is right, it and the rest wrong."""
    return [True] * n_steps if label < 0 else [i < label for i in range(n_steps)]


def parse_processbench_row(row: dict[str, Any], path: str, row_no: int) -> ProcessBenchRow:
    """One row, checked; a bad one raises ``RecordError`` naming the file, the record and the field."""
    def bad(field: str, message: str):
        return RecordError(path, row_no, field, message)

    for field in ("id", "problem", "steps", "label"):
        if field not in row or row[field] is None:
            raise bad(field, "missing")
    rid = row["id"]
    if isinstance(rid, bool) or not isinstance(rid, (str, int)):
        raise bad("id", f"expected text, got {type(rid).__name__}")
    if not isinstance(row["problem"], str) or not row["problem"].strip():
        raise bad("problem", "expected non-empty text")
    steps = row["steps"]
    if not isinstance(steps, (list, tuple)) or not steps:
        raise bad("steps", "expected a non-empty list of strings")
    for i, step in enumerate(steps):
        if not isinstance(step, str) or not step.strip():
            raise bad(f"steps[{i}]", "expected non-empty text")
    label = row["label"]
    if isinstance(label, bool) or not isinstance(label, int):
        raise bad("label", f"expected an integer step index or -1, got {label!r}")
    if not -1 <= label < len(steps):
        raise bad("label", f"{label} is outside -1..{len(steps) - 1} ({len(steps)} steps)")
    generator = row.get("generator")
    if generator is not None and not isinstance(generator, str):
        raise bad("generator", f"expected text, got {type(generator).__name__}")
    correct = row.get("final_answer_correct")
    if correct is not None and not isinstance(correct, bool):
        raise bad("final_answer_correct", f"expected true or false, got {correct!r}")
    return ProcessBenchRow(str(rid), generator or UNKNOWN_GENERATOR, row["problem"], tuple(steps), correct, label)


def load_processbench(path: str | os.PathLike) -> list[ProcessBenchRow]:
    """The rows of a ProcessBench-format JSONL, JSON or Parquet file; duplicate ids raise."""
    from data.loaders import iter_rows

    path = Path(path)
    if not path.exists():
        raise RecordError(path, None, None, "no such file or directory")
    rows, seen = [], {}
    for where, row_no, row in iter_rows(path):
        parsed = parse_processbench_row(row, where, row_no)
        if parsed.id in seen:
            raise RecordError(where, row_no, "id", f"duplicate id {parsed.id!r} (first at record {seen[parsed.id]})")
        seen[parsed.id] = row_no
        rows.append(parsed)
    if not rows:
        raise RecordError(path, None, None, "no ProcessBench rows")
    return rows


def processbench_traces(rows: Sequence[ProcessBenchRow], gold: dict[str, str] | None = None) -> list[Trace]:
    """Traces with first-error ``gold_labels``. ProcessBench has no reference answer: ``gold`` maps a row id
    to one (an ``answer`` or ``gold_answer`` column), else a same-problem solution whose final answer is
    marked correct states it, else it is empty (``label`` rejects such traces)."""
    gold = dict(gold or {})
    by_problem: dict[str, str] = {}
    for row in rows:
        if row.id in gold:
            by_problem.setdefault(row.problem, gold[row.id])
    for row in rows:
        if row.problem not in by_problem and row.final_answer_correct:
            answer = stated_answer(row.steps[-1])
            if answer:
                by_problem[row.problem] = answer
    traces = []
    for row in rows:
        answer = gold.get(row.id) or by_problem.get(row.problem, "")
        outcome = row.final_answer_correct if row.final_answer_correct is not None else row.label < 0
        traces.append(Trace(
            trace_id=content_id(SOURCE, row.id, row.problem, list(row.steps)),
            problem_id=content_id(SOURCE, row.problem), question=row.problem, gold_answer=answer,
            steps=list(row.steps), policy=row.generator, final_answer=stated_answer(row.steps[-1]),
            outcome_correct=bool(outcome), gold_labels=first_error_labels(row.label, len(row.steps)),
            source=f"{SOURCE}/{row.id.split('-')[0]}" if "-" in row.id else SOURCE))
    return traces


def import_processbench(path: str | os.PathLike) -> list[Trace]:
    """``processbench_traces`` of a file; its ``answer`` or ``gold_answer`` column, when present, is the gold."""
    from data.loaders import iter_rows

    rows = load_processbench(path)
    gold = {}
    for _, _, row in iter_rows(Path(path)):
        answer = row.get("gold_answer") or row.get("answer")
        if isinstance(answer, (str, int, float)) and not isinstance(answer, bool) and str(answer).strip():
            gold[str(row["id"])] = str(answer).strip()
    return processbench_traces(rows, gold)
