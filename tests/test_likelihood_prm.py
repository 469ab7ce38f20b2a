"""The likelihood PRM: features, calibration fit, checkpoint round trip, and the signal itself."""
from __future__ import annotations

import json

import pytest

from prm_training.likelihood_prm import calibrated, fit_logistic, step_features


def test_features_take_the_running_minimum_and_clip_minus_infinity():
    feats = step_features([[-0.5], [float("-inf"), -0.1], [], [-0.2]])
    assert feats[0] == (-0.5, -0.5)
    assert feats[1] == (-30.0, -30.0)
    assert feats[2] == (0.0, -30.0) and feats[3] == (-0.2, -30.0)


def test_fit_logistic_recovers_the_direction_and_keeps_soft_targets():
    x = [[-5.0, -5.0], [-4.0, -4.0], [-0.1, -0.1], [-0.2, -0.2]] * 5
    hard = [0.0, 0.0, 1.0, 1.0] * 5
    w, b = fit_logistic(x, hard)
    assert calibrated(w, b, (-0.1, -0.1)) > 0.9 > 0.1 > calibrated(w, b, (-5.0, -5.0))
    soft = [0.25, 0.25, 0.75, 0.75] * 5
    ws, bs = fit_logistic(x, soft)
    assert 0.6 < calibrated(ws, bs, (-0.1, -0.1)) < 0.85  # a soft target of 0.75 is not floored to 0 or 1


def test_fit_checkpoint_and_scorer_round_trip(tmp_path):
    from prm_training.likelihood_prm import LikelihoodPRMScorer, fit_likelihood_prm
    from prm_training.prm_fixtures import write_label_fixture
    from prm_training.prm_eval import evaluate_prm
    from prm_training.load import load_prm

    labels = write_label_fixture(tmp_path / "labels", n_problems=8, traces_per_problem=3)
    summary = fit_likelihood_prm(labels, tmp_path / "prm", label_type="soft", val_fraction=0.25)
    assert summary["train_steps"] > 0 and len(summary["weights"]) == 2
    config = json.loads((tmp_path / "prm" / "prm_config.json").read_text())
    assert config["kind"] == "likelihood" and config["label_type"] == "soft"
    scorer = load_prm(tmp_path / "prm")
    assert isinstance(scorer, LikelihoodPRMScorer)
    scores = scorer.score("Ann has 3 pens. She gets 4 more. How many pens?", ["3 + 4 = 7", "The answer is 7"])
    assert len(scores) == 2 and all(0.0 < s < 1.0 for s in scores)
    assert scores[1] <= scores[0] + 1e-9 or summary["weights"][1] < 0  # running min cannot rise with w >= 0
    metrics = evaluate_prm(tmp_path / "prm", labels, tmp_path / "eval", split="all")
    assert 0.0 <= metrics["step_auc"] <= 1.0 and (tmp_path / "eval" / "metrics.json").exists()


def test_the_embedded_policy_is_surprised_by_a_wrong_result():
    """The signal the likelihood PRM calibrates: a corrupted result lowers that step's score."""
    from data.assets import default_policy_path
    from data.synthetic import SynthSplit
    from prm_training.likelihood_prm import LikelihoodPRMScorer
    from prm_training.prm_format import PRMConfig, resolve_tokens
    from prm_training.prm_model import load_causal_lm

    model, tokenizer = load_causal_lm(default_policy_path())
    config = PRMConfig(tokens=resolve_tokens(tokenizer), label_type="hard", base_model="policy",
                       kind="likelihood", train={"calibration": {"weights": [0.0, 1.0], "bias": 0.0}},
                       prompt_format={"kind": "chat"})
    scorer = LikelihoodPRMScorer(model, tokenizer, config)
    problems = SynthSplit().heldout(20)
    items, corrupted = [], []
    for p in problems:
        steps = list(p.gold_steps)
        lhs, rhs = steps[0].split("=")
        value = int(rhs.split(".")[0])
        wrong = [f"{lhs}= {value + 7}"] + steps[1:]
        items += [(p.question, steps), (p.question, wrong)]
    scores = scorer.score_batch(items)
    lower = sum(scores[2 * i + 1][0] < scores[2 * i][0] for i in range(len(problems)))
    assert lower >= 18, f"only {lower}/20 corrupted first steps scored lower"


def test_train_prm_command_fits_a_likelihood_prm(tmp_path, capsys):
    from pipelines.cli.main import main
    from prm_training.prm_fixtures import write_label_fixture

    labels = write_label_fixture(tmp_path / "labels", n_problems=6, traces_per_problem=2)
    assert main(["train-prm", "--kind", "likelihood", "--labels", str(labels), "--out", str(tmp_path / "prm"),
                 "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "training a likelihood PRM" in out and json.loads(out[out.index("{"):])["kind"] == "likelihood"
    with pytest.raises(SystemExit):
        main(["train-prm", "--kind", "nope", "--labels", str(labels), "--out", str(tmp_path / "x")])


def chat_labels(out):
    """A label run whose prompts the embedded chat policy's template rendered."""
    from transformers import AutoTokenizer

    from data.assets import default_policy_path
    from labelers.prompter import Prompter
    from prm_training.prm_fixtures import write_label_fixture

    chat = Prompter.build("chat", AutoTokenizer.from_pretrained(str(default_policy_path())))
    return write_label_fixture(out, n_problems=6, traces_per_problem=2, prompter=chat)


@pytest.mark.parametrize("kind", ["likelihood", "tag"])
def test_train_prm_refuses_a_base_that_cannot_render_the_labels_chat_format(tmp_path, capsys, kind):
    """Chat-format labels on a base without a chat template: refused before any training, not at search time."""
    from data.assets import plain_policy_path
    from pipelines.cli.main import main

    labels = chat_labels(tmp_path / "labels")
    assert main(["train-prm", "--kind", kind, "--labels", str(labels), "--base", str(plain_policy_path()),
                 "--out", str(tmp_path / "prm"), "--threads", "1"]) == 2
    assert "prompt_format: the labels were written in their policy's chat format" in capsys.readouterr().err
    assert not (tmp_path / "prm" / "prm_config.json").exists()
    assert not (tmp_path / "prm" / "checkpoints").exists()


OTHER_TEMPLATE = ("{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}"
                  "{% if add_generation_prompt %}[assistant] {% endif %}")


@pytest.mark.parametrize("kind", ["likelihood", "tag"])
def test_train_prm_warns_when_its_base_renders_questions_otherwise_than_the_labels(tmp_path, capsys, kind):
    """Labels rendered by one chat template, a base with another: trained, with a warning in stderr and the summary;
    the sampler's own template: no warning."""
    from data.assets import default_policy_path
    from pipelines.cli.main import main
    from prm_training.prm_fixtures import make_tiny_base

    labels = chat_labels(tmp_path / "labels")
    other = make_tiny_base(tmp_path / "other_base", chat_template=OTHER_TEMPLATE)
    common = ["--kind", kind, "--labels", str(labels), "--threads", "1", "--epochs", "1"]
    assert main(["train-prm", *common, "--base", str(other), "--out", str(tmp_path / "prm_other")]) == 0
    captured = capsys.readouterr()
    assert "train-prm: warning: 12 of 12 label prompts were not rendered as this PRM's base" in captured.err
    assert '"warning": "12 of 12 label prompts were not rendered' in captured.out  # the summary carries it
    assert main(["train-prm", *common, "--base", str(default_policy_path()), "--out", str(tmp_path / "prm_own")]) == 0
    assert "warning" not in capsys.readouterr().err
