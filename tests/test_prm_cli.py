"""``train-prm`` / ``eval-prm`` from the command line, the lazy imports, and the PRM modules' doctests."""
import argparse
import doctest
import importlib
import json
import subprocess
import sys

import pytest

PRM_MODULES = ["prm_training.prm_format", "prm_training.prm_data", "prm_training.prm_eval",
               "prm_training.prm_trainer", "prm_training.prm_model", "prm_training.load",
               "prm_training.vllm_scorer", "prm_training.prm_fixtures", "pipelines.cli.prm_cmds",
               "prm_training.likelihood_prm", "prm_training.oracle_scorer", "search.config", "search.sampling", "search.step_search", "search.sweep", "pipelines.search_run",
               "pipelines.flywheel", "pipelines.cli.search_cmds", "pipelines.cli.flywheel_cmds"]


def _parser():
    from pipelines.cli import prm_cmds as prm

    parser = argparse.ArgumentParser(prog="prm-factory")
    sub = parser.add_subparsers(dest="command", required=True)
    prm.add_subcommands(sub)
    return parser


def test_imports_are_light():
    heavy = ("torch", "transformers", "vllm", "ray", "matplotlib")
    code = (f"import sys, json; import {', '.join(PRM_MODULES)}; "
            f"print(json.dumps([m for m in {heavy!r} if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


@pytest.mark.parametrize("name", ["prm_training.prm_format", "prm_training.prm_data", "prm_training.prm_eval",
                                  "prm_training.prm_trainer"])
def test_doctests(name):
    assert doctest.testmod(importlib.import_module(name)).failed == 0


def test_train_and_eval_commands(tmp_path, capsys):
    pytest.importorskip("torch")
    from prm_training.prm_fixtures import make_tiny_base, write_label_fixture

    base = make_tiny_base(tmp_path / "base")
    labels = write_label_fixture(tmp_path / "labels", n_problems=6, traces_per_problem=2)
    parser = _parser()
    assert parser.parse_args(["train-prm", "--labels", "x", "--out", "y"]).kind == "likelihood"  # the default
    argv = ["train-prm", "--kind", "tag", "--labels", str(labels), "--out", str(tmp_path / "prm"), "--base", str(base),
            "--label-type", "hard", "--epochs", "1", "--lr", "1e-3", "--batch-size", "4", "--seed", "3",
            "--threads", "1", "--val-fraction", "0.3", "--no-progress"]
    args = parser.parse_args(argv)
    args.func(args)
    out = capsys.readouterr().out
    assert '"status": "finished"' in out and "training a tag PRM" in out
    cfg = json.loads((tmp_path / "prm" / "prm_config.json").read_text())
    assert cfg["label_type"] == "hard" and cfg["train"]["seed"] == 3 and cfg["train"]["batch_size"] == 4

    args = parser.parse_args(["eval-prm", "--prm", str(tmp_path / "prm"), "--labels", str(labels),
                              "--out", str(tmp_path / "eval"), "--split", "all", "--threads", "1"])
    args.func(args)
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert metrics["n_traces"] == 12 and metrics["reference"] == "gold"
    assert (tmp_path / "eval" / "prm_eval.png").exists()
    assert "base_lm_likelihood_auc" in metrics  # None here: the base was named by a folder not on the path


def test_eval_warns_when_a_prm_ranks_below_its_base_likelihood(tmp_path, capsys):
    pytest.importorskip("torch")
    from prm_training.base_likelihood import compare_with_base
    from prm_training.likelihood_prm import fit_likelihood_prm
    from prm_training.prm_data import load_label_rows
    from prm_training.prm_fixtures import make_tiny_base, write_label_fixture
    from prm_training.prm_format import PRMConfig

    base = make_tiny_base(tmp_path / "base")
    labels = write_label_fixture(tmp_path / "labels", n_problems=6, traces_per_problem=2)
    fit_likelihood_prm(labels, tmp_path / "lik", base_model=str(base), val_fraction=0.0)
    config, rows = PRMConfig.load(tmp_path / "lik"), load_label_rows(labels)
    worse = {"reference": "gold", "step_auc": 0.0}
    compare_with_base(worse, config, rows, tmp_path / "lik")
    assert 0.0 < worse["base_lm_likelihood_auc"] <= 1.0 and "ranks steps worse" in worse["warning"]
    assert "ranks steps worse" in capsys.readouterr().err
    better = {"reference": "gold", "step_auc": 1.0}
    compare_with_base(better, config, rows, tmp_path / "lik")
    assert "warning" not in better
