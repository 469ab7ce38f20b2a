"""Errors on bad input name the file, the record and the field.

>>> str(RecordError("x.jsonl", 3, "gold_answer", "missing"))
'x.jsonl: record 3: field gold_answer: missing'
"""
from __future__ import annotations


class RecordError(ValueError):
    def __init__(self, path: str, row: int | str | None, field: str | None, message: str):
        self.path, self.row, self.field, self.message = str(path), row, field, message
        where = [self.path]
        if row is not None:
            where.append(f"record {row}")
        if field is not None:
            where.append(f"field {field}")
        super().__init__(": ".join(where + [message]))
