"""``prm-factory report``: calibration table, PNG plots and the HTML summary of a fake label run."""
from __future__ import annotations

import doctest
import json
import subprocess
import sys

import pytest

from data.parquet_io import write_json_atomic, write_records
from data.records import StepLabels
from pipelines.cli.main import main
from pipelines.report import calibration_table, expected_calibration_error, write_label_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _row(i: int, soft: list[float], gold: list[bool] | None) -> StepLabels:
    hard = [s > 0 for s in soft]
    return StepLabels(
        prompt=f"Ann has {i} pens. She gets 2 more. How many pens?",
        completions=[f"step {k} of trace {i}" for k in range(len(soft))], labels=hard,
        trace_id=f"t{i}", problem_id=f"p{i // 2}", soft_labels=soft, n_rollouts=[8] * len(soft),
        n_correct=[round(8 * s) for s in soft], first_error=hard.index(False) if False in hard else None,
        strategy="full", policy="tiny-policy", verifier="math-verify", gold_labels=gold,
    )


ROWS_GOLD = [
    _row(0, [1.0, 0.875, 0.75], [True, True, True]),
    _row(1, [0.625, 0.0, 0.0], [True, False, False]),
    _row(2, [0.125, 0.0], [False, False]),   # a lucky recovery: hard-positive, gold-negative
    _row(3, [0.5, 0.25, 0.0], [True, True, False]),  # the last gold-positive step is a false negative
    _row(4, [0.375, 0.5], [True, True]),
]


def _run_dir(tmp_path, rows, stats_extra=None, rejected=()):
    run = tmp_path / "run"
    write_records(run / "labels" / "shard-00000.parquet", rows[:3])
    if rows[3:]:
        write_records(run / "labels" / "shard-00001.parquet", rows[3:])
    steps = sum(len(r.labels) for r in rows)
    stats = {"input_traces": len(rows) + len(rejected), "rejected": len(rejected), "traces": len(rows),
             "steps": steps, "shards": 2, "shards_done": 2, "rollouts": 8 * steps, "generated_tokens": 12345,
             "rollouts_per_step": 8.0, "rounds_max": 1, "generate_s": 1.5, "verify_s": 0.5,
             "verdicts": {"correct": 40, "incorrect": 50, "no_answer": 6}, "timeouts": 0,
             "positive_label_fraction": round(sum(sum(r.labels) for r in rows) / steps, 4), "nodes": ["n"],
             "wall_s": 3.25, **(stats_extra or {})}
    write_json_atomic(run / "stats.json", stats)
    write_json_atomic(run / "manifest.json", {"run_id": "abc123", "identity": {
        "engine": "hf", "label": {"strategy": "full", "rollouts": 8}}})
    (run / "rejected").mkdir()
    (run / "rejected" / "rejected.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rejected))
    return run


def _check_png(path):
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, f"{path} is not a PNG"
    assert len(data) > 5000  # a real plot, not an empty canvas
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > 300 and height > 200


def test_doctests():
    import pipelines.report

    result = doctest.testmod(pipelines.report, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 5 and result.failed == 0


def test_calibration_table_counts_and_edges():
    table = calibration_table([0.0, 0.1, 0.1, 0.95, 1.0, 1.0], [False, True, False, True, True, False], bins=10)
    assert len(table) == 10 and sum(r["count"] for r in table) == 6
    assert (table[0]["count"], table[1]["count"], table[9]["count"]) == (1, 2, 3)  # 0.1 -> bin 1; 1.0 -> last bin
    assert table[1]["frac_positive"] == 0.5 and table[9]["positives"] == 2
    assert table[5] == {"lo": 0.5, "hi": 0.6, "count": 0, "positives": 0, "mean_soft": None, "frac_positive": None}
    assert calibration_table([], [], bins=3)[0]["count"] == 0
    assert expected_calibration_error(calibration_table([], [])) is None
    # perfectly calibrated: each bin's mean equals its positive fraction
    perfect = calibration_table([0.25] * 4 + [0.75] * 4, [True, False, False, False, True, True, True, False], bins=2)
    assert expected_calibration_error(perfect) == 0.0
    with pytest.raises(ValueError, match="3 scores for 2"):
        calibration_table([0.1, 0.2, 0.3], [True, False])
    with pytest.raises(ValueError, match="bins"):
        calibration_table([0.1], [True], bins=0)
    with pytest.raises(ValueError, match="outside"):
        calibration_table([float("nan")], [True])


def test_report_with_gold(tmp_path):
    rejected = [{"trace_id": "bad1", "problem_id": "p9", "reason": "empty step list"},
                {"trace_id": "bad<2>", "problem_id": "p9", "reason": "unparseable gold_answer 'x'"}]
    # stats.json without quality metrics: the report computes them from the labels (labelers.metrics)
    run = _run_dir(tmp_path, ROWS_GOLD, rejected=rejected)
    index = write_label_report(run)
    assert index == run / "report" / "index.html"
    for name in ("calibration.png", "balance.png"):
        _check_png(run / "report" / name)
    text = index.read_text()
    assert '<img src="calibration.png"' in text and '<img src="balance.png"' in text
    assert "http" not in text  # self-contained: nothing loaded from outside
    assert "gold-positive" in text and "hard MC labels" not in text
    for figure in ("13", "12,345", "correct 40 (41.7%)", "tiny-policy", "abc123", "empty step list", "bad&lt;2&gt;",
                   "soft AUC", "hard balanced accuracy", "first-error accuracy"):
        assert figure in text, figure
    from labelers.metrics import label_quality
    from data.parquet_io import read_rows

    q = label_quality(read_rows(run / "labels"))
    assert f"<th>soft AUC</th><td>{q['soft_auc']:.4g}</td>" in text
    assert f"<th>hard accuracy</th><td>{q['hard_accuracy']:.4g}</td>" in text
    assert f"<th>first-error accuracy</th><td>{q['first_error_accuracy']:.4g}</td>" in text
    assert "2 input traces were rejected" in text


def test_report_prefers_stats_metrics(tmp_path):
    given = {"gold_traces": 5, "gold_steps": 13, "gold_positive_steps": 8, "hard_accuracy": 0.1234,
             "hard_balanced_accuracy": 0.2345, "false_positives": 1, "false_negatives": 1, "soft_auc": 0.3456,
             "first_error_accuracy": 0.4567}
    text = write_label_report(_run_dir(tmp_path, ROWS_GOLD, stats_extra=given)).read_text()
    for v in ("0.1234", "0.2345", "0.3456", "0.4567"):
        assert v in text
    assert "No input trace was rejected" in text


def test_report_without_gold_uses_hard_labels(tmp_path):
    rows = [_row(i, r.soft_labels, None) for i, r in enumerate(ROWS_GOLD)]
    run = _run_dir(tmp_path, rows)
    text = write_label_report(run).read_text()
    assert "hard Monte Carlo labels" in text and "no gold labels" in text
    assert "soft AUC" not in text
    _check_png(run / "report" / "calibration.png")


def test_report_without_stats_and_with_no_labels(tmp_path):
    run = _run_dir(tmp_path, ROWS_GOLD)
    (run / "stats.json").unlink()
    text = write_label_report(run).read_text()
    assert "No stats.json" in text and "<th>steps</th><td>13</td>" in text
    empty = tmp_path / "empty"
    (empty / "labels").mkdir(parents=True)
    write_json_atomic(empty / "stats.json", {"input_traces": 3, "rejected": 3, "traces": 0, "steps": 0})
    assert "3 input traces were rejected" in write_label_report(empty).read_text()
    _check_png(empty / "report" / "calibration.png")


def test_report_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such run directory"):
        write_label_report(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="not a label run directory"):
        write_label_report(tmp_path)
    run = _run_dir(tmp_path, ROWS_GOLD)
    (run / "stats.json").write_text("{not json")
    with pytest.raises(ValueError, match="stats.json"):
        write_label_report(run)


def test_report_cli(tmp_path, capsys):
    run = _run_dir(tmp_path, ROWS_GOLD)
    assert main(["report", str(run), "--bins", "5"]) == 0
    out = capsys.readouterr().out.strip()
    assert out == str((run / "report" / "index.html").resolve())
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "no such run directory" in capsys.readouterr().err


def test_report_module_import_is_light():
    code = ("import sys, json; import pipelines.cli.main, pipelines.report; "
            "print(json.dumps([m for m in ('matplotlib', 'torch', 'ray', 'datasets') if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_report_many_distinct_soft_values(tmp_path):
    # adaptive runs give soft labels with varying denominators: the balance plot falls back to a histogram
    rows = [_row(i, [(i * 7 + k) % 31 / 30 for k in range(3)], [True, True, i % 2 == 0]) for i in range(12)]
    run = _run_dir(tmp_path, rows)
    write_label_report(run)
    _check_png(run / "report" / "balance.png")
