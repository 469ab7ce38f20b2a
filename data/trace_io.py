"""Reading traces: our own Parquet/JSONL files, and third-party step-labeled files.

:func:`load_traces` reads ``Trace`` rows (a Parquet file, a directory of shards or a JSONL
file) and checks the required columns before any work. :func:`validate_trace` gives a
rejection reason for a trace that cannot be labeled; duplicate ids are found over the whole
set with :func:`find_duplicate_ids`.

:func:`import_labeled` reads Math-Shepherd rows (``input``/``label``/``task``, steps closed
by the tag ``ки`` whose place the label text gives as ``+`` or ``-``) and PRM800K rows (the
OpenAI phase 1/2 JSONL) into traces whose ``gold_labels`` are the file's own step labels,
with prefix semantics: once a step is bad, every later label is False.

>>> ms = {"input": "What is 1 + 2? Step 1: 1 + 2 = 3 ки\\nStep 2: The answer is: 3 ки",
...       "label": "What is 1 + 2? Step 1: 1 + 2 = 3 +\\nStep 2: The answer is: 3 +", "task": "GSM8K"}
>>> q, steps, labels = parse_math_shepherd(ms["input"], ms["label"])
>>> q, steps, labels
('What is 1 + 2?', ['Step 1: 1 + 2 = 3', 'Step 2: The answer is: 3'], [True, True])
>>> prefix_labels([True, False, True])
[True, False, False]
"""
from __future__ import annotations

import os
import re
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable, Sequence

from data.errors import RecordError
from data.processbench import import_processbench, stated_answer
from data.records import Trace, content_id

REQUIRED_TRACE_COLUMNS = ("trace_id", "problem_id", "question", "gold_answer", "steps")
DEFAULT_MAX_STEP_CHARS = 2000
MATH_SHEPHERD_TAG = "ки"
IMPORT_FORMATS = ("math-shepherd", "prm800k", "processbench")

_TRACE_FIELDS = tuple(Trace.SCHEMA.names)
_STEP_ONE = re.compile(r"(?:^|\s)([Ss]tep 1:)")


# --------------------------------------------------------------------------- our own traces


def load_traces(path: str | os.PathLike) -> list[Trace]:
    """Traces from a Parquet file, a directory of Parquet shards, or a JSONL file.

    Missing required columns (``trace_id, problem_id, question, gold_answer, steps``) raise a
    RecordError naming the file and the column before any row is read. Values are checked for
    type only; use :func:`validate_trace` for content.
    """
    from data.loaders import iter_jsonl

    path = Path(path)
    if not path.exists():
        raise RecordError(path, None, None, "no such file or directory")
    if path.is_dir() or path.suffix == ".parquet":
        return _load_trace_parquet(path)
    if path.suffix in (".jsonl", ".json", ".ndjson"):
        traces = []
        for line, row in iter_jsonl(path):
            missing = [c for c in REQUIRED_TRACE_COLUMNS if c not in row]
            if missing:
                raise RecordError(path, line, missing[0], "missing required column")
            traces.append(_row_trace(path, line, row))
        return traces
    raise RecordError(path, None, None, f"unknown file type {path.suffix!r} (expected .parquet or .jsonl)")


def _load_trace_parquet(path: Path) -> list[Trace]:
    import pyarrow.parquet as pq

    from data.parquet_io import parquet_files

    files = parquet_files(path)
    if not files:
        raise RecordError(path, None, None, "no .parquet files in directory")
    for f in files:  # every shard's schema first: fail before any work
        names = set(pq.read_schema(f).names)
        for column in REQUIRED_TRACE_COLUMNS:
            if column not in names:
                raise RecordError(f, None, column, "missing required column")
    traces = []
    for f in files:
        table = pq.read_table(f)
        for i, row in enumerate(table.to_pylist(), 1):
            traces.append(_row_trace(f, i, row))
    return traces


def _row_trace(path: Path, row_no: int, row: dict[str, Any]) -> Trace:
    for column in ("trace_id", "problem_id", "question", "gold_answer"):
        value = row[column]
        if value is not None and not isinstance(value, str):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise RecordError(path, row_no, column, f"expected text, got {type(value).__name__}")
            row = {**row, column: str(value)}
    steps = row["steps"]
    if steps is not None and (not isinstance(steps, (list, tuple)) or not all(isinstance(s, str) for s in steps)):
        raise RecordError(path, row_no, "steps", "expected a list of strings")
    labels = row.get("gold_labels")
    if labels is not None and (not isinstance(labels, (list, tuple)) or not all(isinstance(b, bool) for b in labels)):
        raise RecordError(path, row_no, "gold_labels", "expected a list of booleans")
    delimiters = row.get("step_delimiters")
    if delimiters is not None:
        if not isinstance(delimiters, (list, tuple)) or not all(isinstance(d, str) for d in delimiters):
            raise RecordError(path, row_no, "step_delimiters", "expected a list of strings")
        if steps is not None and len(delimiters) != len(steps) + 1:
            raise RecordError(path, row_no, "step_delimiters", f"{len(steps)} steps cannot be re-joined with "
                              f"{len(delimiters)} delimiters (one before, between and after the steps: "
                              f"{len(steps) + 1})")
        solution = row.get("solution")
        if isinstance(solution, str) and steps is not None:
            joined = delimiters[0] + "".join(s + d for s, d in zip(steps, delimiters[1:]))
            if joined != solution:
                at = next((i for i, (a, b) in enumerate(zip(joined, solution)) if a != b), min(len(joined), len(solution)))
                raise RecordError(path, row_no, "steps", f"the steps and step_delimiters do not re-join into "
                                  f"the solution text (first difference at character {at})")
    values = {k: row[k] for k in _TRACE_FIELDS if k in row}
    if values.get("prompt_format") is None:
        values["prompt_format"] = ""
    values.setdefault("policy", "")
    if values.get("policy") is None:
        values["policy"] = ""
    if values.get("outcome_correct") is None:
        values["outcome_correct"] = False
    if values.get("source") is None:
        values["source"] = ""
    if steps is not None:
        values["steps"] = list(steps)
    return Trace(**values)


def validate_trace(trace: Trace, max_step_chars: int = DEFAULT_MAX_STEP_CHARS) -> str | None:
    """None when the trace can be labeled, else the reason to reject it.

    >>> t = Trace("t", "p", "What is 2 + 3?", "5", ["2 + 3 = 5"], "pol")
    >>> validate_trace(t) is None
    True
    >>> validate_trace(Trace("t", "p", "q", "5", [], "pol"))
    'empty step list'
    >>> validate_trace(Trace("t", "p", "q", "5", ["ok", " "], "pol"))
    'step 1 is empty'
    >>> validate_trace(Trace("t", "p", "q", "5", ["x" * 2001], "pol"))
    'step 0 is 2001 chars (max 2000)'
    """
    steps = trace.steps
    if steps is None:
        return "no steps"
    if len(steps) == 0:
        return "empty step list"
    for i, step in enumerate(steps):
        if not isinstance(step, str) or not step.strip():
            return f"step {i} is empty"
    if not isinstance(trace.question, str) or not trace.question.strip():
        return "empty question"
    if not isinstance(trace.gold_answer, str) or not trace.gold_answer.strip():
        return "empty gold answer"
    for i, step in enumerate(steps):
        if len(step) > max_step_chars:
            return f"step {i} is {len(step)} chars (max {max_step_chars})"
    if trace.gold_labels is not None and len(trace.gold_labels) != len(steps):
        return f"{len(trace.gold_labels)} gold labels for {len(steps)} steps"
    return None


def find_duplicate_ids(traces: Iterable[Trace]) -> set[str]:
    """The trace ids that occur more than once.

    >>> a = Trace("t1", "p", "q", "1", ["s"], "pol")
    >>> find_duplicate_ids([a, a, Trace("t2", "p", "q", "1", ["s"], "pol")])
    {'t1'}
    """
    seen: set[str] = set()
    dups: set[str] = set()
    for t in traces:
        (dups if t.trace_id in seen else seen).add(t.trace_id)
    return dups


# --------------------------------------------------------------------------- third-party labels


def prefix_labels(labels: Sequence[bool]) -> list[bool]:
    """Prefix semantics: a step is good only while every step so far is good."""
    out, ok = [], True
    for label in labels:
        ok = ok and bool(label)
        out.append(ok)
    return out


def parse_math_shepherd(input_text: str, label_text: str, tag: str = MATH_SHEPHERD_TAG,
                        question: str | None = None) -> tuple[str, list[str], list[bool]]:
    """``(question, steps, raw labels)`` of one Math-Shepherd row.

    ``label_text`` must be ``input_text`` with each ``tag`` replaced by ``+`` or ``-``; otherwise
    ValueError. The question is told from the first step by ``question`` when given and a prefix,
    else by ``Step 1:``, else by the last newline, else by the last ``?``.
    """
    pieces = input_text.split(tag)
    if len(pieces) < 2:
        raise ValueError(f"no step tag {tag!r} in input")
    labels: list[bool] = []
    pos = len(pieces[0])
    if label_text[:pos] != pieces[0]:
        raise ValueError("label text differs from input before the first tag")
    for piece in pieces[1:]:
        mark = label_text[pos:pos + 1]
        if mark not in ("+", "-"):
            raise ValueError(f"expected '+' or '-' at label offset {pos}, got {mark!r}")
        labels.append(mark == "+")
        pos += 1
        if label_text[pos:pos + len(piece)] != piece:
            raise ValueError(f"label text differs from input after tag {len(labels)}")
        pos += len(piece)
    if pos != len(label_text):
        raise ValueError("label text is longer than input")
    if pieces[-1].strip():
        raise ValueError("text after the last step tag")
    head = pieces[0]
    q, first = _split_question(head, question)
    steps = [first] + [p.strip() for p in pieces[1:-1]]
    return q, steps, labels


def _split_question(head: str, question: str | None) -> tuple[str, str]:
    if question and head.startswith(question) and head[len(question):].strip():
        return question, head[len(question):].strip()
    m = _STEP_ONE.search(head)
    if m and head[:m.start(1)].strip():
        return head[:m.start(1)].strip(), head[m.start(1):].strip()
    stripped = head.rstrip()
    if "\n" in stripped:
        q, first = stripped.rsplit("\n", 1)
        if q.strip() and first.strip():
            return q.strip(), first.strip()
    if "?" in stripped[:-1]:
        cut = stripped[:-1].rindex("?") + 1
        if stripped[cut:].strip():
            return stripped[:cut].strip(), stripped[cut:].strip()
    raise ValueError("cannot tell the question from the first step")


def _import_math_shepherd(rows, tag: str) -> list[Trace]:
    parsed = []
    for path, row_no, row in rows:
        for column in ("input", "label"):
            if not isinstance(row.get(column), str):
                raise RecordError(path, row_no, column, "missing column" if column not in row else "expected text")
        try:
            prompt = row.get("prompt") if isinstance(row.get("prompt"), str) else None
            question, steps, raw = parse_math_shepherd(row["input"], row["label"], tag, prompt)
        except ValueError as exc:
            raise RecordError(path, row_no, "label" if "label" in str(exc) else "input", str(exc)) from None
        parsed.append((row_no, row, question, steps, raw))
    # Math-Shepherd has no gold column; its last label says whether the final answer is right,
    # so a solution whose last step is labeled good states the gold.
    gold_by_question: dict[str, str] = {}
    for _, row, question, steps, raw in parsed:
        gold = row.get("gold_answer")
        if isinstance(gold, str) and gold.strip():
            gold_by_question.setdefault(question, gold.strip())
    for _, row, question, steps, raw in parsed:
        if question not in gold_by_question and raw[-1]:
            answer = stated_answer(steps[-1])
            if answer:
                gold_by_question[question] = answer
    traces = []
    for row_no, row, question, steps, raw in parsed:
        labels = prefix_labels(raw)
        task = str(row.get("task") or "").strip()
        source = f"math-shepherd/{task.lower()}" if task else "math-shepherd"
        gold = gold_by_question.get(question, "")
        problem_id = row.get("problem_id") or content_id(source, question, gold)
        trace_id = row.get("trace_id") or content_id("math-shepherd", question, steps, raw)
        traces.append(Trace(
            trace_id=str(trace_id), problem_id=str(problem_id), question=question, gold_answer=gold,
            steps=steps, policy="math-shepherd", final_answer=stated_answer(steps[-1]),
            outcome_correct=raw[-1], gold_labels=labels, source=source,
        ))
    return traces


def _prm800k_field(path: str, row_no: int, row: dict[str, Any], dotted: str, kind: type) -> Any:
    value: Any = row
    for key in dotted.split("."):
        if not isinstance(value, dict) or key not in value:
            raise RecordError(path, row_no, dotted, "missing")
        value = value[key]
    if not isinstance(value, kind):
        raise RecordError(path, row_no, dotted, f"expected {kind.__name__}, got {type(value).__name__}")
    return value


def _prm800k_steps(path: str, row_no: int, row: dict[str, Any]) -> tuple[list[str], list[bool]]:
    """The labeled trajectory: the chosen completion (or human one) of each step, up to the first
    step without one, where the first -1 completion (preferring the pre-generated step) ends it."""
    label_steps = _prm800k_field(path, row_no, row, "label.steps", list)
    pre = (row.get("question") or {}).get("pre_generated_steps") or []
    steps: list[str] = []
    ok: list[bool] = []
    for i, step in enumerate(label_steps):
        field = f"label.steps[{i}]"
        if not isinstance(step, dict):
            raise RecordError(path, row_no, field, "expected an object")
        completions = step.get("completions") or []
        chosen = step.get("chosen_completion")
        human = step.get("human_completion")
        if chosen is not None:
            if not isinstance(chosen, int) or not 0 <= chosen < len(completions):
                raise RecordError(path, row_no, f"{field}.chosen_completion", f"index {chosen!r} out of range")
            completion, last = completions[chosen], False
        elif human is not None:
            completion = human if isinstance(human, dict) else {"text": human, "rating": 1}
            last = False
        elif completions:
            dicts = [c for c in completions if isinstance(c, dict)]
            pick = [c for c in dicts if i < len(pre) and c.get("text") == pre[i]]
            pick = pick or [c for c in dicts if c.get("rating") == -1] or completions
            completion, last = pick[0], True
        else:
            break
        text = completion.get("text") if isinstance(completion, dict) else None
        if not isinstance(text, str):
            raise RecordError(path, row_no, f"{field}.completions.text", "expected text")
        steps.append(text)
        ok.append(completion.get("rating") != -1)
        if last:
            break
    return steps, prefix_labels(ok)


def _import_prm800k(rows) -> list[Trace]:
    traces = []
    for path, row_no, row in rows:
        question = _prm800k_field(path, row_no, row, "question.problem", str)
        gold = row["question"].get("ground_truth_answer")
        gold = "" if gold is None else str(gold)
        label = _prm800k_field(path, row_no, row, "label", dict)
        if label.get("finish_reason") == "bad_problem":
            continue  # the labeler reported the problem itself as broken
        steps, labels = _prm800k_steps(path, row_no, row)
        final = None
        if steps and "# Answer" in steps[-1]:
            final = steps[-1].rsplit("# Answer", 1)[1].strip() or None
        source = "prm800k"
        traces.append(Trace(
            trace_id=content_id("prm800k", row.get("labeler"), row.get("timestamp"), question, steps),
            problem_id=content_id(source, question, gold), question=question, gold_answer=gold,
            steps=steps, policy="prm800k", final_answer=final,
            outcome_correct=bool(label.get("finish_reason") == "solution" and labels and labels[-1]),
            gold_labels=labels, source=source,
        ))
    return traces


def import_labeled(path: str | os.PathLike, fmt: str = "math-shepherd", step_tag: str = MATH_SHEPHERD_TAG) -> list[Trace]:
    """Third-party step-labeled rows (JSONL, JSON or Parquet) as traces with ``gold_labels``.

    ``math-shepherd``: the gold answer is the row's ``gold_answer`` column when present, else the
    answer of a same-question solution whose last step is labeled ``+`` (the format has no gold
    column; its last label is the outcome), else empty. ``prm800k``: rows whose ``finish_reason`` is ``bad_problem`` are skipped;
    a rating of -1 is bad, 0 and +1 are good. ``processbench``: ``data.processbench.import_processbench``
    (first-error labels).
    """
    from data.loaders import iter_rows

    if fmt not in IMPORT_FORMATS:
        raise ValueError(f"import_labeled: unknown fmt {fmt!r}; expected one of {IMPORT_FORMATS}")
    path = Path(path)
    if not path.exists():
        raise RecordError(path, None, None, "no such file or directory")
    if fmt == "processbench":
        return import_processbench(path)
    rows = iter_rows(path)
    if fmt == "math-shepherd":
        return _import_math_shepherd(rows, step_tag)
    return _import_prm800k(rows)
