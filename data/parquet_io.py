"""Parquet IO with declared schemas, atomic writes and a ``schema_version`` in metadata.

>>> import tempfile, os
>>> from data.records import Problem
>>> d = tempfile.mkdtemp()
>>> write_records(os.path.join(d, "p.parquet"), [Problem("p1", "q", "2", "synthetic")])
>>> read_records(os.path.join(d, "p.parquet"), Problem)[0].problem_id
'p1'
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from data.records import SCHEMA_VERSION


def _schema_with_version(schema: pa.Schema, record_type: str) -> pa.Schema:
    meta = dict(schema.metadata or {})
    meta[b"schema_version"] = SCHEMA_VERSION.encode()
    meta[b"record_type"] = record_type.encode()
    return schema.with_metadata(meta)


def rows_to_table(rows: Sequence[dict[str, Any]], schema: pa.Schema, record_type: str) -> pa.Table:
    columns = {name: [row.get(name) for row in rows] for name in schema.names}
    return pa.Table.from_pydict(columns, schema=_schema_with_version(schema, record_type))


def write_rows_atomic(path: str | os.PathLike, rows: Sequence[dict[str, Any]], schema: pa.Schema,
                      record_type: str = "") -> None:
    """Write rows to ``path`` through a temporary file and a rename: readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(rows_to_table(rows, schema, record_type), tmp)
    os.replace(tmp, path)


def write_records(path: str | os.PathLike, records: Iterable[Any]) -> None:
    """Write a homogeneous list of record dataclasses to one Parquet file, atomically."""
    records = list(records)
    if not records:
        raise ValueError(f"write_records({path}): no records to write")
    cls = type(records[0])
    write_rows_atomic(path, [r.to_dict() for r in records], cls.SCHEMA, cls.__name__)


def parquet_files(path: str | os.PathLike) -> list[Path]:
    """One file, or every ``*.parquet`` under a directory in name order (hidden temp files skipped)."""
    path = Path(path)
    if path.is_dir():
        return sorted(p for p in path.rglob("*.parquet") if not p.name.startswith("."))
    if not path.exists():
        raise FileNotFoundError(f"no such file or directory: {path}")
    return [path]


def read_table(path: str | os.PathLike) -> pa.Table:
    files = parquet_files(path)
    if not files:
        raise FileNotFoundError(f"no .parquet files under {path}")
    return pa.concat_tables([pq.read_table(f) for f in files], promote_options="default")


def read_rows(path: str | os.PathLike) -> list[dict[str, Any]]:
    return read_table(path).to_pylist()


def read_records(path: str | os.PathLike, cls) -> list[Any]:
    return [cls.from_dict(row) for row in read_rows(path)]


def write_json_atomic(path: str | os.PathLike, obj: Any) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str))
    os.replace(tmp, path)
