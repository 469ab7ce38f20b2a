import pyarrow.parquet as pq
import pytest

from data.parquet_io import read_records, read_rows, write_json_atomic, write_records
from data.records import SCHEMA_VERSION, Problem, Rollout, StepLabels, Trace


def _examples():
    return [
        Problem("p1", "q?", "3", "synthetic", ["1 + 2 = 3. The answer is 3"]),
        Trace("t1", "p1", "q?", "3", ["1 + 2 = 3"], "pol", "3", True, [True], "synthetic", None),
        Rollout("t1", 0, 1, "text", None, "no_answer", 5),
        StepLabels("q?\n", ["a", "b"], [True, False], "t1", "p1", [0.5, 0.0], [8, 8], [4, 0], 1, "full", "pol",
                   "verifiers", None),
    ]


@pytest.mark.parametrize("record", _examples(), ids=lambda r: type(r).__name__)
def test_roundtrip_and_schema_version(tmp_path, record):
    path = tmp_path / "x.parquet"
    write_records(path, [record, record])
    back = read_records(path, type(record))
    assert back == [record, record]
    meta = pq.read_schema(path).metadata
    assert meta[b"schema_version"] == SCHEMA_VERSION.encode()
    assert meta[b"record_type"] == type(record).__name__.encode()
    assert [p.name for p in tmp_path.iterdir()] == ["x.parquet"]  # no temp file left behind


def test_directory_of_shards_reads_in_order(tmp_path):
    for i in (2, 0, 1):
        write_records(tmp_path / f"shard-{i:05d}.parquet", [Problem(f"p{i}", "q", "1", "s")])
    (tmp_path / ".shard-00003.parquet.123.tmp").write_text("half a file")
    assert [r["problem_id"] for r in read_rows(tmp_path)] == ["p0", "p1", "p2"]


def test_missing_path_and_empty_write_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope"):
        read_rows(tmp_path / "nope")
    with pytest.raises(ValueError, match="no records"):
        write_records(tmp_path / "e.parquet", [])


def test_write_json_atomic(tmp_path):
    write_json_atomic(tmp_path / "a" / "s.json", {"x": 1})
    assert (tmp_path / "a" / "s.json").read_text().strip().startswith("{")
