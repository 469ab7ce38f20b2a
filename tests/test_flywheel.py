"""The flywheel end to end at toy sizes: every stage's files, the tables, the report, and resume."""
from __future__ import annotations

import json

import pytest

from pipelines.flywheel import FlywheelConfig, round_problems, rounds_table


def test_round_problems_are_fresh_per_round_and_never_held_out():
    from data.synthetic import SynthSplit

    cfg = FlywheelConfig(label_problems=5, rl_problems=3)
    first = round_problems(cfg, 0)
    second = round_problems(cfg, 1)
    ids = [p.problem_id for part in first + second for p in part]
    assert len(ids) == len(set(ids)) == 16
    held = {p.problem_id for p in SynthSplit().heldout(300)}
    assert not held & set(ids)


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="rounds"):
        FlywheelConfig(rounds=0)
    with pytest.raises(ValueError, match="strategy"):
        FlywheelConfig(strategy="greedy")
    with pytest.raises(ValueError, match="policy_step"):
        FlywheelConfig(policy_step="dpo")


TOY_ARGS = ["--rounds", "1", "--label-problems", "6", "--samples", "2", "--strategy", "binary", "--rollouts", "2",
            "--search-problems", "4", "--search-n", "2", "--rl-problems", "4", "--rl-iterations", "1",
            "--group-size", "2", "--rl-problems-per-iteration", "2", "--heldout-n", "4"]


def _flywheel(out, *extra):
    """The CLI in its own process: an in-process vLLM engine, once freed, tears down vLLM's global
    parallel state and would break the session's shared vLLM engine fixture."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    return subprocess.run([sys.executable, "-m", "pipelines.cli.main", "flywheel", "--out", str(out), *TOY_ARGS, *extra],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)


def test_one_round_end_to_end_and_resume(tmp_path):
    out = tmp_path / "fly"
    done = _flywheel(out)
    assert done.returncode == 0, done.stderr[-3000:]
    round_dir = out / "round-0"
    for rel in ("manifest.json", "problems.jsonl", "generate/traces", "label/stats.json", "label/report/index.html",
                "prm/prm_config.json", "prm_eval/metrics.json", "search/sweep.json", "search/search_scaling.png",
                "rl/summary.json", "rl/policy/config.json", "round.json"):
        assert (round_dir / rel).exists(), rel
    result = json.loads((out / "flywheel.json").read_text())
    figures = result["rounds"][0]
    assert figures["traces"] == 12
    assert 0.0 <= figures["majority@2"] <= 1.0 and 0.0 <= figures["best_of_2"] <= 1.0
    prm_eval = json.loads((round_dir / "prm_eval" / "metrics.json").read_text())
    if prm_eval["n_positive_steps"] in (0, prm_eval["n_steps"]):  # a toy validation split of one class has no AUC
        assert figures["prm_step_auc"] is None
    else:
        assert 0.0 <= figures["prm_step_auc"] <= 1.0
    assert figures["next_policy"] == f"{round_dir.name}/rl/policy" == result["final_policy"]
    assert "| 0 |" in (out / "flywheel.md").read_text()
    text = (out / "report.html").read_text()
    for image in ("label/report/calibration.png", "prm_eval/prm_eval.png", "search/search_scaling.png",
                  "rl/rl_curve.png"):
        assert f"round-0/{image}" in text and (round_dir / image).exists()

    # a rerun finds the round done and changes nothing
    before = (round_dir / "round.json").read_text()
    again = _flywheel(out)
    assert again.returncode == 0, again.stderr[-3000:]
    assert (round_dir / "round.json").read_text() == before
    assert json.loads((out / "flywheel.json").read_text())["rounds"][0] == figures
    # another configuration in the same directory is refused, naming the problem
    other = _flywheel(out, "--rollouts", "4")
    assert other.returncode == 2 and "different run" in other.stderr


def test_one_round_with_the_rft_policy_step(tmp_path):
    out = tmp_path / "fly_rft"
    done = _flywheel(out, "--policy-step", "rft", "--rft-samples", "4", "--rft-steps", "2", "--rft-vet")
    assert done.returncode == 0, done.stderr[-3000:]
    round_dir = out / "round-0"
    assert not (round_dir / "rl").exists()
    summary = json.loads((round_dir / "rft" / "summary.json").read_text())
    assert summary["steps_done"] == 2 and summary["sampled"] == 16
    assert summary["config"]["prm"] == "prm"  # the round's own PRM vets the samples, named portably
    figures = json.loads((out / "flywheel.json").read_text())["rounds"][0]
    assert figures["policy_step"] == "rft" and figures["rft_kept"] == summary["kept"]
    assert figures["heldout_greedy_after"] == summary["heldout_accuracy_after"]
    assert figures["next_policy"] == f"{round_dir.name}/rft/policy"


def test_rounds_table_lists_every_round():
    rows = [{"round": 0, "search_n": 2, "prm_step_auc": 0.7}, {"round": 1, "search_n": 2, "prm_step_auc": 0.8}]
    table = rounds_table(rows).splitlines()
    assert len(table) == 4 and table[3].startswith("| 1 |")
