"""Guided search: selection logic, every method through the real vllm and hf engines, and the CLI."""
from __future__ import annotations

import json

import pytest

from data.synthetic import SynthSplit, gold_step_labels
from labelers.step_split import split_steps
from pipelines.search_run import run_search
from search.config import METHODS, SearchConfig
from search.sampling import choose_from_samples, sample_solutions
from search.step_search import step_search
from search.select import cluster_answers, weighted_answer
from prm_training.oracle_scorer import GoldStepScorer


def test_weighted_sc_merges_equivalent_answers_with_the_verifier():
    from verifiers import is_equivalent

    answers = ["1/2", "0.5", "3", None]
    assert cluster_answers(answers, is_equivalent) == [0, 0, 1, None]
    # 3 alone outweighs either spelling of one half, but not both together
    assert weighted_answer(answers, [0.3, 0.3, 0.5, 0.9], is_equivalent) == "1/2"
    assert weighted_answer(answers, [0.3, 0.3, 0.5, 0.9]) == "3"


def test_best_of_n_and_weighted_sc_pick_differently():
    answers = ["7", "12", "12"]
    scores = [[0.9, 0.95], [0.6, 0.5], [0.7, 0.6]]
    assert choose_from_samples("best-of-n", answers, scores, "min", str.__eq__) == (0, 0.9)
    # the two 12s sum to 1.1 > 0.9
    index, score = choose_from_samples("weighted-sc", answers, scores, "min", str.__eq__)
    assert (index, score) == (2, 0.6)
    assert choose_from_samples("best-of-n", answers, scores, "last", str.__eq__)[0] == 0
    with pytest.raises(ValueError, match="needs PRM scores"):
        choose_from_samples("best-of-n", answers, None)


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="method"):
        SearchConfig(method="mcts")
    with pytest.raises(ValueError, match="n must be"):
        SearchConfig(n=0)
    assert SearchConfig(method="beam", n=2).beams_and_expansions() == (1, 2)


def test_run_search_needs_a_prm_for_prm_methods(hf_engine):
    with pytest.raises(ValueError, match="needs a PRM"):
        run_search(hf_engine, SynthSplit().heldout(1), SearchConfig(method="beam", n=2), None, progress=False)


PROBLEMS = SynthSplit().heldout(8)


@pytest.mark.parametrize("method", METHODS)
def test_every_method_runs_on_both_engines(engine, method):
    scorer = GoldStepScorer(PROBLEMS)
    cfg = SearchConfig(method=method, n=3, seed=3, max_steps=6)
    results = run_search(engine, PROBLEMS[:3], cfg, scorer, progress=False)
    assert [r.problem_id for r in results] == [p.problem_id for p in PROBLEMS[:3]]
    for r, p in zip(results, PROBLEMS):
        assert r.method == method and r.samples >= 1 and r.tokens > 0
        if r.answer is not None:
            from verifiers import is_equivalent

            assert r.correct == is_equivalent(r.answer, p.gold_answer)
        if method != "majority":
            assert r.score is not None and 0.0 <= r.score <= 1.0
    if method == "greedy-step":
        assert all(r.samples >= 3 for r in results)


def test_best_of_n_with_a_perfect_prm_finds_a_flawless_sample_whenever_one_exists(engine):
    scorer = GoldStepScorer(PROBLEMS)
    cfg = SearchConfig(method="best-of-n", n=6, seed=1)
    sampled = sample_solutions(engine, PROBLEMS, cfg, scorer)
    for s in sampled:
        flawless = [all(gold_step_labels(s.problem.gold_steps, split_steps(t))) for t in s.texts]
        index, score = choose_from_samples("best-of-n", s.answers, s.step_scores, "min", str.__eq__)
        assert (score == 1.0) == any(flawless)
        if any(flawless):
            assert flawless[index]


def test_beam_search_with_a_perfect_prm_beats_plain_sampling(vllm_engine):
    problems = SynthSplit().heldout(16)
    scorer = GoldStepScorer(problems)
    beam = step_search(vllm_engine, scorer, problems, SearchConfig(method="beam", n=8, seed=0))
    plain = run_search(vllm_engine, problems, SearchConfig(method="majority", n=1, seed=0), progress=False)
    beam_acc = sum(r.correct for r in beam) / len(beam)
    plain_acc = sum(r.correct for r in plain) / len(plain)
    assert beam_acc > plain_acc
    # every chosen solution is one the perfect PRM scored, and flawless ones score 1
    for r, p in zip(beam, problems):
        if r.score == 1.0:
            assert r.correct and all(gold_step_labels(p.gold_steps, split_steps(r.solution)))


@pytest.fixture(scope="module")
def tiny_prm(tmp_path_factory):
    from prm_training.prm_fixtures import make_tiny_base, write_label_fixture
    from prm_training.prm_trainer import PRMTrainConfig, train_prm

    root = tmp_path_factory.mktemp("search_prm")
    base = make_tiny_base(root / "base")
    labels = write_label_fixture(root / "labels", n_problems=4, traces_per_problem=2)
    out = root / "prm"
    train_prm(labels, out, PRMTrainConfig(base_model=str(base), epochs=1, batch_size=8, num_threads=1,
                                          val_fraction=0.0), progress=False)
    return out


def _cli(*args):
    """The CLI in its own process: an in-process vLLM engine, once freed, tears down vLLM's global
    parallel state and would break the session's shared vLLM engine fixture."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    done = subprocess.run([sys.executable, "-m", "pipelines.cli.main", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_search_and_eval_search_commands(tmp_path, tiny_prm):
    from data.parquet_io import read_rows

    out = tmp_path / "search"
    _cli("search", "--engine", "hf", "--method", "best-of-n", "--n", "2", "--prm", str(tiny_prm),
         "--limit", "3", "--out", str(out), "--threads", "1")
    rows = read_rows(out / "results.parquet")
    assert len(rows) == 3 and all(r["samples"] == 2 and r["tokens"] > 0 for r in rows)
    summary = json.loads((out / "summary.json").read_text())
    for key in ("method", "n", "accuracy", "tokens_per_problem", "wall_s"):
        assert key in summary
    assert summary["accuracy"] == pytest.approx(sum(r["correct"] for r in rows) / 3, abs=1e-4)

    sweep_dir = tmp_path / "sweep"
    _cli("eval-search", "--engine", "vllm", "--methods", "majority,best-of-n,weighted-sc,lookahead",
         "--n-max", "4", "--step-ns", "2", "--prm", str(tiny_prm), "--limit", "3",
         "--out", str(sweep_dir), "--threads", "1")
    sweep = json.loads((sweep_dir / "sweep.json").read_text())
    methods = {(p["method"], p["n"]) for p in sweep["points"]}
    assert {("pass@n (oracle)", 4), ("majority", 1), ("best-of-n", 4), ("weighted-sc", 2), ("lookahead", 2)} <= methods
    oracle = {p["n"]: p["accuracy"] for p in sweep["points"] if p["method"].startswith("pass@")}
    assert oracle[1] <= oracle[2] <= oracle[4]
    assert (sweep_dir / "search_scaling.png").stat().st_size > 1000
    assert "| majority |" in (sweep_dir / "sweep.md").read_text()


def test_search_command_errors_clearly(tmp_path, capsys):
    from pipelines.cli.main import main

    assert main(["search", "--method", "beam", "--limit", "2", "--out", str(tmp_path / "x")]) == 2
    assert "--prm" in capsys.readouterr().err
    assert main(["search", "--method", "beam", "--prm", str(tmp_path), "--limit", "2",
                 "--out", str(tmp_path / "y")]) == 2
    assert "prm_config.json" in capsys.readouterr().err


def test_search_to_dir_resumes_after_a_kill_and_refuses_other_settings(tmp_path):
    from data.parquet_io import read_rows
    from pipelines.search_run import search_to_dir
    from tests.fakes import FakeEngine

    problems = SynthSplit().heldout(5)
    answers = {p.question: (p.gold_answer, [True] * len(p.gold_steps)) for p in problems}
    cfg = SearchConfig(method="majority", n=3, batch_problems=2)
    whole = search_to_dir(FakeEngine(answers, p_good=0.6), problems, cfg, tmp_path / "a", progress=False)
    expected = read_rows(tmp_path / "a" / "results.parquet")
    assert len(list((tmp_path / "a" / "batches").glob("batch-*.parquet"))) == 3

    engine = FakeEngine(answers, p_good=0.6)
    search_to_dir(engine, problems, cfg, tmp_path / "b", progress=False)
    (tmp_path / "b" / "batches" / "batch-00001.parquet").unlink()  # as if killed while searching batch 1
    (tmp_path / "b" / "results.parquet").unlink()
    again = FakeEngine(answers, p_good=0.6)
    resumed = search_to_dir(again, problems, cfg, tmp_path / "b", progress=False)
    assert len(again.calls) == 1  # only the lost batch is searched again
    assert read_rows(tmp_path / "b" / "results.parquet") == expected
    assert resumed["accuracy"] == whole["accuracy"]
    with pytest.raises(ValueError, match="other settings .*config"):
        search_to_dir(again, problems, SearchConfig(method="majority", n=4, batch_problems=2), tmp_path / "b",
                      progress=False)


def test_sweep_resumes_from_its_finished_batches(tmp_path):
    from pipelines.search_run import sweep_to_dir
    from search.sweep import SweepConfig
    from tests.fakes import FakeEngine

    problems = SynthSplit().heldout(5)
    answers = {p.question: (p.gold_answer, [True] * len(p.gold_steps)) for p in problems}
    cfg = SweepConfig(ns=(1, 2, 4), methods=("majority",), step_ns=(), search=SearchConfig(batch_problems=2))
    whole = sweep_to_dir(FakeEngine(answers, p_good=0.6), problems, cfg, tmp_path / "a", progress=False)
    (tmp_path / "b").mkdir()
    sweep_to_dir(FakeEngine(answers, p_good=0.6), problems, cfg, tmp_path / "b", progress=False)
    (tmp_path / "b" / "parts" / "draw" / "batch-00002.json").unlink()  # as if killed during the last batch
    again = FakeEngine(answers, p_good=0.6)
    resumed = sweep_to_dir(again, problems, cfg, tmp_path / "b", progress=False)
    assert len(again.calls) == 1 and resumed["points"] == whole["points"]
    with pytest.raises(ValueError, match="other settings"):
        sweep_to_dir(again, problems, SweepConfig(ns=(1, 2), methods=("majority",), step_ns=()), tmp_path / "b",
                     progress=False)
