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


def test_one_round_end_to_end_and_resume(tmp_path):
    from pipelines.flywheel import run_flywheel
    from pipelines.flywheel_report import write_flywheel_report

    cfg = FlywheelConfig(rounds=1, label_problems=6, samples=2, strategy="binary", rollouts=2, prm_epochs=1,
                         search_problems=4, search_n=2, rl_problems=4, rl_iterations=1, rl_group_size=2,
                         rl_problems_per_iteration=2, heldout_n=4)
    out = tmp_path / "fly"
    result = run_flywheel(cfg, out)
    round_dir = out / "round-0"
    for rel in ("manifest.json", "problems.jsonl", "generate/traces", "label/stats.json", "label/report/index.html",
                "prm/prm_config.json", "prm_eval/metrics.json", "search/sweep.json", "search/search_scaling.png",
                "rl/summary.json", "rl/policy/config.json", "round.json"):
        assert (round_dir / rel).exists(), rel
    figures = result["rounds"][0]
    assert figures["traces"] == 12
    assert 0.0 <= figures["majority@2"] <= 1.0 and 0.0 <= figures["best_of_2"] <= 1.0
    assert figures["next_policy"] == str((round_dir / "rl" / "policy").resolve())
    assert "| 0 |" in (out / "flywheel.md").read_text()
    report = write_flywheel_report(out, result["rounds"])
    text = report.read_text()
    for image in ("label/report/calibration.png", "prm_eval/prm_eval.png", "search/search_scaling.png",
                  "rl/rl_curve.png"):
        assert f"round-0/{image}" in text and (round_dir / image).exists()

    # a rerun finds the round done and changes nothing
    before = (round_dir / "round.json").read_text()
    again = run_flywheel(cfg, out)
    assert again["rounds"][0] == figures and (round_dir / "round.json").read_text() == before
    # another configuration in the same directory is refused
    with pytest.raises(ValueError, match="different run"):
        run_flywheel(FlywheelConfig(**{**cfg.__dict__, "rollouts": 4}), out)
    assert json.loads((out / "flywheel.json").read_text())["final_policy"] == figures["next_policy"]


def test_rounds_table_lists_every_round():
    rows = [{"round": 0, "search_n": 2, "prm_step_auc": 0.7}, {"round": 1, "search_n": 2, "prm_step_auc": 0.8}]
    table = rounds_table(rows).splitlines()
    assert len(table) == 4 and table[3].startswith("| 1 |")
