"""bench/rl_seeds.py: the table and plot over run directories (pure file reading; no RL is run)."""
import importlib.util
import json
from pathlib import Path

import pytest

SPEC = importlib.util.spec_from_file_location("rl_seeds", Path(__file__).parents[1] / "bench" / "rl_seeds.py")
rl_seeds = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(rl_seeds)


def _fake_run(root: Path, name: str, curve: dict[int, float], before: float = 0.7) -> Path:
    run = root / name
    (run / "checkpoints" / "iter-2").mkdir(parents=True)
    (run / "checkpoints" / "iter-2" / "state.json").write_text(json.dumps({"heldout_accuracy_before": before}))
    lines = [{"iteration": i, "reward": 0.5, **({"heldout_accuracy": curve[i]} if i in curve else {})}
             for i in range(1, max(curve) + 1)]
    (run / "log.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    return run


def test_table_has_each_run_and_the_mean_per_reward(tmp_path):
    runs = {"process_s0": _fake_run(tmp_path, "process_s0", {1: 0.7, 2: 0.8}),
            "process_s1": _fake_run(tmp_path, "process_s1", {1: 0.6, 2: 0.9}),
            "outcome_s0": _fake_run(tmp_path, "outcome_s0", {1: 0.75})}  # stopped early
    table, data = rl_seeds.tabulate(runs)
    assert "| process_s0 | 0.700 | 0.700 | 0.800 | 0.800 |" in table
    assert "| outcome_s0 | 0.700 | 0.750 |  | 0.750 |" in table
    assert data["mean"]["process"] == pytest.approx({1: 0.65, 2: 0.85})
    assert data["mean"]["outcome"] == {1: 0.75}  # iteration 2 not reached by every seed: no mean


def test_plot_groups_runs_by_glob_and_names_bad_specs(tmp_path):
    _fake_run(tmp_path, "a_s0", {5: 0.7, 10: 0.8})
    _fake_run(tmp_path, "a_s1", {5: 0.8, 10: 0.9})
    groups = rl_seeds.collect_groups([f"a={tmp_path}/a_s*"])
    assert sorted(groups["a"].values(), key=str) == [{5: 0.7, 10: 0.8}, {5: 0.8, 10: 0.9}]
    rl_seeds.plot_groups(groups, 0.7, tmp_path / "p.png")
    assert (tmp_path / "p.png").stat().st_size > 1000
    with pytest.raises(ValueError, match="LABEL=GLOB"):
        rl_seeds.collect_groups(["no-equals-sign"])
    with pytest.raises(ValueError, match="no run directory"):
        rl_seeds.collect_groups([f"b={tmp_path}/nothing*"])


def test_iterations_done_counts_log_lines(tmp_path):
    assert rl_seeds.iterations_done(tmp_path / "missing") == 0
    assert rl_seeds.iterations_done(_fake_run(tmp_path, "r", {1: 0.7, 3: 0.8})) == 3
