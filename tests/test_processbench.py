"""ProcessBench-format evaluation (eval-prm --processbench) with F1 checked by hand on known predictions, threshold
tuning, truncation that is reported, and ProcessBench rows imported as traces that `label` runs on."""
import json
from pathlib import Path

import pytest

Q1 = "Ann has 3 pens. She gets 4 more. How many pens does she have?"
Q2 = "Bob has 10 apples. He eats 2, then buys 5. How many apples does he have?"
Q3 = "A box holds 6 eggs. How many eggs are in 4 boxes, less 3?"
# id, generator, problem, steps, final_answer_correct, label (earliest wrong step), and the scores a fake PRM
# gives each step. At threshold 0.5 the predicted first errors are -1, 0, 1, 1, 1.
ROWS = [
    ("gsm8k-0", "A", Q1, ["3 + 4 = 7", "The answer is \\boxed{7}"], True, -1, [0.9, 0.8]),
    ("gsm8k-1", "A", Q1, ["3 + 4 = 8", "The answer is \\boxed{8}"], False, 0, [0.3, 0.2]),
    ("gsm8k-2", "B", Q2, ["10 - 2 = 8", "8 + 5 = 12", "The answer is \\boxed{12}"], False, 1, [0.9, 0.44, 0.3]),
    ("gsm8k-3", "B", Q2, ["10 - 2 = 8", "8 + 5 = 13", "The answer is \\boxed{13}"], True, -1, [0.9, 0.48, 0.9]),
    ("gsm8k-4", "B", Q3, ["6 * 4 = 24", "24 - 3 = 21", "The answer is \\boxed{20}"], False, 2, [0.8, 0.47, 0.1]),
]
# A second split: the best threshold there is 0.31 (0.30 ties; the one nearer 0.5 wins).
TUNE_ROWS = [
    ("math-0", "C", "What is 1 + 1?", ["1 + 1 = 3", "The answer is 3"], False, 0, [0.29, 0.1]),
    ("math-1", "C", "What is 2 + 2?", ["2 + 2 = 4", "The answer is 4"], True, -1, [0.31, 0.9]),
]


def write_processbench(path, rows=ROWS) -> Path:
    keys = ("id", "generator", "problem", "steps", "final_answer_correct", "label")
    Path(path).write_text("".join(json.dumps(dict(zip(keys, r[:6]))) + "\n" for r in rows))
    return Path(path)


class FakePRM:
    """Scores known in advance, by (problem, steps); ``max_steps`` mimics a context that holds that many steps."""

    def __init__(self, rows, max_steps=None):
        self.table = {(r[2], tuple(r[3])): r[6] for r in rows}
        self.max_steps = max_steps
        self.max_length = 99

    def score_batch(self, items):
        out = []
        for question, steps in items:
            if self.max_steps is not None and len(steps) > self.max_steps:
                raise ValueError(f"PRM input of {len(steps)} steps exceeds max_length {self.max_steps}")
            full = self.table[(question, tuple(steps))] if (question, tuple(steps)) in self.table else \
                next(v for (q, s), v in self.table.items() if q == question and s[:len(steps)] == tuple(steps))
            out.append(list(full[:len(steps)]))
        return out


@pytest.fixture
def fake_prm(monkeypatch):
    import prm_training.load

    holder = {"prm": FakePRM(ROWS + TUNE_ROWS)}
    monkeypatch.setattr(prm_training.load, "load_prm", lambda *a, **k: holder["prm"])
    return holder


def _run(*args):
    from pipelines.cli.main import main

    return main(["eval-prm", "--prm", "fake", *args])


def test_processbench_f1_by_hand(tmp_path, fake_prm, capsys):
    bench = write_processbench(tmp_path / "gsm8k.jsonl")
    assert _run("--processbench", str(bench), "--out", str(tmp_path / "out")) == 0
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    # erroneous rows 1, 2, 4: predicted 0, 1, 1 against labels 0, 1, 2 -> 2/3; correct rows 0, 3: predicted
    # -1, 1 -> 1/2; F1 = 2 * (2/3) * (1/2) / (2/3 + 1/2) = 4/7
    assert metrics["accuracy_erroneous"] == pytest.approx(2 / 3, abs=1e-4)
    assert metrics["accuracy_correct"] == pytest.approx(1 / 2, abs=1e-4)
    assert metrics["processbench_f1"] == pytest.approx(4 / 7, abs=1e-4)
    assert (metrics["n"], metrics["n_erroneous"], metrics["n_correct"], metrics["threshold"]) == (5, 3, 2, 0.5)
    by_gen = metrics["per_generator"]
    assert (by_gen["A"]["processbench_f1"], by_gen["A"]["n"]) == (1.0, 2)
    assert (by_gen["B"]["accuracy_erroneous"], by_gen["B"]["accuracy_correct"], by_gen["B"]["processbench_f1"]) == \
        (0.5, 0.0, 0.0)
    assert metrics["truncated_rows"] == 0 and "tuned" not in metrics
    preds = [json.loads(x) for x in (tmp_path / "out" / "predictions.jsonl").read_text().splitlines()]
    assert [p["id"] for p in preds] == [r[0] for r in ROWS]
    assert [p["predicted"] for p in preds] == [-1, 0, 1, 1, 1]
    assert [p["scores"] for p in preds] == [r[6] for r in ROWS]
    assert json.loads(capsys.readouterr().out.split("\nmetrics")[0])["processbench_f1"] == metrics["processbench_f1"]


def test_threshold_option_and_tuning(tmp_path, fake_prm):
    bench = write_processbench(tmp_path / "gsm8k.jsonl")
    # --threshold 0.3: predicted -1, 1, -1, -1, 2 -> erroneous 1/3, correct 2/2, F1 = 2 * (1/3) / (4/3) = 1/2
    assert _run("--processbench", str(bench), "--threshold", "0.3", "--out", str(tmp_path / "t")) == 0
    assert json.loads((tmp_path / "t" / "metrics.json").read_text())["processbench_f1"] == pytest.approx(0.5)
    # in-sample tuning: every row is right for thresholds in (0.44, 0.47]; 0.47 is the one nearest 0.5
    assert _run("--processbench", str(bench), "--tune-threshold", "--out", str(tmp_path / "in")) == 0
    metrics = json.loads((tmp_path / "in" / "metrics.json").read_text())
    assert metrics["threshold"] == 0.5 and metrics["processbench_f1"] == pytest.approx(4 / 7, abs=1e-4)
    assert (metrics["tuned"]["threshold"], metrics["tuned"]["processbench_f1"]) == (0.47, 1.0)
    assert metrics["tuned"]["in_sample"] is True
    # tuned on another split (0.31), applied here: predicted -1, 0, 2, -1, 2 -> erroneous 2/3, correct 1 -> F1 0.8
    split = write_processbench(tmp_path / "math.jsonl", TUNE_ROWS)
    assert _run("--processbench", str(bench), "--tune-threshold", str(split), "--out", str(tmp_path / "x")) == 0
    metrics = json.loads((tmp_path / "x" / "metrics.json").read_text())
    assert (metrics["tuned"]["threshold"], metrics["tuned"]["on"], metrics["threshold"]) == (0.31, "math.jsonl", 0.31)
    assert metrics["processbench_f1"] == pytest.approx(0.8)


def test_truncation_is_reported_not_silent(tmp_path, fake_prm, capsys):
    """A PRM whose context holds 2 steps: rows 2-4 are cut. Row 2's scored steps hold its error (0.44 < 0.45), so
    its prediction stands; rows 3 and 4 (nothing below 0.45 in their first 2 steps) are undecided."""
    fake_prm["prm"] = FakePRM(ROWS, max_steps=2)
    bench = write_processbench(tmp_path / "pb.jsonl")
    assert _run("--processbench", str(bench), "--threshold", "0.45", "--out", str(tmp_path / "o")) == 0
    err = capsys.readouterr().err
    assert "3 solutions exceed" in err and "2 rows are undecided" in err
    metrics = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert (metrics["truncated_rows"], metrics["truncated_steps"], metrics["undecided_rows"]) == (3, 3, 2)
    preds = {p["id"]: p for p in map(json.loads, (tmp_path / "o" / "predictions.jsonl").read_text().splitlines())}
    assert preds["gsm8k-2"]["predicted"] == 1 and preds["gsm8k-2"]["truncated"]
    assert preds["gsm8k-2"]["scores"] == [0.9, 0.44] and preds["gsm8k-3"]["predicted"] is None
    assert not preds["gsm8k-0"]["truncated"]
    # undecided rows count as misses: erroneous rows 1 and 2 of 1, 2, 4; correct row 0 of 0 and 3
    assert metrics["accuracy_erroneous"] == pytest.approx(2 / 3, abs=1e-4) and metrics["accuracy_correct"] == 0.5


def test_a_long_solution_on_a_real_prm_is_cut_at_its_context(tmp_path, capsys):
    """Thirty steps past the PRM's context: the steps that fit are scored as in the whole solution."""
    from pipelines.cli.main import main
    from prm_training.byo_fixtures import make_tiny_math_shepherd
    from prm_training.load import load_prm

    prm = make_tiny_math_shepherd(tmp_path / "ms")
    steps = [f"{k} + 1 = {k + 1}" for k in range(30)]
    rows = [("long-0", "G", "Count from 0.", steps, True, -1, None), ROWS[0][:6] + (None,)]
    bench = write_processbench(tmp_path / "long.jsonl", rows)
    assert main(["eval-prm", "--prm", str(prm), "--prm-format", "math-shepherd", "--processbench", str(bench),
                 "--max-length", "128", "--threshold", "0.0", "--out", str(tmp_path / "o"), "--threads", "1"]) == 0
    assert "1 solutions exceed the PRM's context of 128 tokens" in capsys.readouterr().err
    metrics = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert metrics["truncated_rows"] == 1 and metrics["undecided_rows"] == 1 and metrics["max_length"] == 128
    long = json.loads((tmp_path / "o" / "predictions.jsonl").read_text().splitlines()[0])
    whole = load_prm(prm, prm_format="math-shepherd", threads=1).score("Count from 0.", steps)
    assert 5 < len(long["scores"]) < 30 and long["scores"] == pytest.approx(whole[:len(long["scores"])], abs=1e-5)


def test_prefix_fallback_for_scorers_that_only_refuse():
    from prm_training.processbench_eval import score_fitting

    prm = FakePRM(ROWS, max_steps=2)
    assert score_fitting(prm, [(r[2], r[3]) for r in ROWS], progress=False) == [r[6][:2] for r in ROWS]


def test_bad_processbench_rows_name_the_record_and_field(tmp_path, capsys):
    from pipelines.cli.main import main

    good = dict(zip(("id", "generator", "problem", "steps", "final_answer_correct", "label"), ROWS[0][:6]))
    for change, field in [({"label": 2}, "label"), ({"steps": []}, "steps"), ({"label": "1"}, "label"),
                          ({"problem": None}, "problem"), ({"final_answer_correct": "yes"}, "final_answer_correct")]:
        path = tmp_path / "bad.jsonl"
        path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "id": "x", **change}) + "\n")
        assert main(["import", "--format", "processbench", "--input", str(path), "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err
        assert "bad.jsonl" in err and "record 2" in err and f"field {field}" in err, err
    path.write_text(json.dumps(good) + "\n" + json.dumps(good) + "\n")
    assert main(["import", "--format", "processbench", "--input", str(path), "--out", str(tmp_path / "o")]) == 2
    assert "duplicate id" in capsys.readouterr().err
    assert main(["eval-prm", "--prm", "x", "--labels", "y", "--processbench", str(path)]) == 2
    assert "exactly one of" in capsys.readouterr().err


def test_import_then_label_compares_monte_carlo_with_human_labels(tmp_path, capsys, hf_engine):
    from data.trace_io import load_traces
    from labelers.metrics import label_quality
    from labelers.rounds import LabelConfig, label_shard
    from pipelines.cli.main import main
    from pipelines.label_run import split_valid

    bench = write_processbench(tmp_path / "pb.jsonl")
    assert main(["import", "--format", "processbench", "--input", str(bench), "--out", str(tmp_path / "imp")]) == 0
    out = capsys.readouterr().out
    assert "imported 5 traces" in out and "1 traces have no gold answer" in out  # Q3 has no correct solution
    traces = load_traces(tmp_path / "imp" / "traces")
    assert [t.gold_labels for t in traces] == [[True, True], [False, False], [True, False, False], [True, True, True],
                                               [True, True, False]]
    assert [t.gold_answer for t in traces] == ["7", "7", "13", "13", ""]  # from a row marked final_answer_correct
    assert [t.policy for t in traces] == ["A", "A", "B", "B", "B"] and traces[1].outcome_correct is False
    valid, rejected = split_valid(traces, max_step_chars=2000)
    assert len(valid) == 4 and rejected[0]["reason"] == "empty gold answer"
    result = label_shard(hf_engine, valid[:2], LabelConfig(strategy="full", rollouts=2, max_tokens=32, seed=0))
    assert [r["gold_labels"] for r in result.labels] == [[True, True], [False, False]]
    quality = label_quality(result.labels)
    assert quality["gold_traces"] == 2 and quality["gold_steps"] == 4 and 0 <= quality["hard_accuracy"] <= 1


def test_a_likelihood_prm_scores_only_the_steps_inside_its_context(tmp_path):
    """The transformers likelihood PRM cuts long inputs itself; ProcessBench scoring keeps the steps that fit
    whole, so no step is scored on a cut text."""
    from prm_training.likelihood_prm import fit_likelihood_prm
    from prm_training.load import load_prm
    from prm_training.prm_fixtures import make_tiny_base, write_label_fixture
    from prm_training.processbench_eval import score_fitting

    base = make_tiny_base(tmp_path / "base")
    labels = write_label_fixture(tmp_path / "labels", n_problems=4, traces_per_problem=2)
    fit_likelihood_prm(labels, tmp_path / "lik", base_model=str(base), label_type="soft", val_fraction=0.0)
    scorer = load_prm(tmp_path / "lik", threads=1)
    steps = [f"{k} + 1 = {k + 1}" for k in range(80)]
    cut = score_fitting(scorer, [("Count from 0.", steps)], progress=False)[0]
    assert 5 < len(cut) < 80
    assert cut == pytest.approx(scorer.score("Count from 0.", steps[:len(cut)]), abs=1e-6)
