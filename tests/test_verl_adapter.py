"""The verl reward adapter scores responses with a real (tiny, freshly trained) PRM checkpoint on CPU."""
import doctest
import importlib.util
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

from pipelines.adapters import verl_reward  # noqa: E402
from pipelines.adapters.verl_reward import compute_score  # noqa: E402

QUESTION = "Ann has 12 pens. She gets 30 more, then 5 more. How many pens does she have?"
GOOD = "12 + 30 = 42\n42 + 5 = 47. The answer is 47"


@pytest.fixture(scope="module")
def prm(tmp_path_factory):
    from prm_training.prm_fixtures import make_tiny_base, write_label_fixture
    from prm_training.prm_trainer import PRMTrainConfig, train_prm

    root = tmp_path_factory.mktemp("verl_prm")
    base = make_tiny_base(root / "base")
    labels = write_label_fixture(root / "labels", n_problems=6, traces_per_problem=2)
    cfg = PRMTrainConfig(base_model=str(base), epochs=1, batch_size=8, val_fraction=0.0, num_threads=1)
    train_prm(labels, root / "prm", cfg, progress=False)
    return str(root / "prm")


def test_doctests():
    assert doctest.testmod(verl_reward, optionflags=doctest.ELLIPSIS).failed == 0


def test_prm_score_is_the_aggregated_step_probability(prm):
    from prm_training.load import load_prm

    steps = GOOD.split("\n")
    expected = load_prm(prm).score(QUESTION, steps)
    extra = {"question": QUESTION, "split": "train", "index": 0}
    got_min = compute_score("synthetic", GOOD, "47", extra_info=extra, prm_path=prm)
    got_last = compute_score("synthetic", GOOD, "47", extra_info={**extra, "prm_aggregate": "last"}, prm_path=prm)
    assert isinstance(got_min, float) and 0.0 <= got_min <= 1.0
    assert got_min == pytest.approx(min(expected), abs=1e-6)
    assert got_last == pytest.approx(expected[-1], abs=1e-6)
    detail = compute_score("synthetic", GOOD, "47", extra_info=extra, prm_path=prm, return_dict=True)
    assert detail["reward_source"] == "prm" and detail["outcome"] == 1.0 and detail["n_steps"] == 2


def test_no_final_answer_scores_zero_and_outcome_fallback(prm, monkeypatch):
    extra = {"question": QUESTION}
    assert compute_score("synthetic", "12 + 30 = 42", "47", extra_info=extra, prm_path=prm) == 0.0
    assert compute_score("synthetic", "", "47", extra_info=extra, prm_path=prm) == 0.0
    monkeypatch.delenv(verl_reward.ENV_PRM, raising=False)
    assert compute_score("synthetic", GOOD, "47", extra_info=extra) == 1.0  # no PRM: verifier outcome
    assert compute_score("synthetic", GOOD, "48", extra_info=extra) == 0.0
    assert compute_score("synthetic", GOOD, "47", extra_info={}, prm_path=prm) == 1.0  # no question: outcome
    monkeypatch.setenv(verl_reward.ENV_PRM, prm)
    from_env = compute_score("synthetic", GOOD, "47", extra_info=extra, return_dict=True)
    assert from_env["reward_source"] == "prm"
    with pytest.raises(ValueError, match="prm_aggregate"):
        compute_score("synthetic", GOOD, "47", extra_info=extra, prm_aggregate="max")


def test_loads_the_way_verl_loads_a_custom_reward_file(prm):
    """verl's get_custom_reward_fn: import the file by path, take ``name``, bind ``reward_kwargs``."""
    spec = importlib.util.spec_from_file_location("custom_module", verl_reward.__file__)
    module = importlib.util.module_from_spec(spec)
    sys.modules["custom_module"] = module
    spec.loader.exec_module(module)
    fn = getattr(module, "compute_score")
    reward_kwargs = {"prm_path": prm, "prm_aggregate": "mean"}
    score = fn(data_source="synthetic", solution_str=GOOD, ground_truth="47", extra_info={"question": QUESTION},
               **reward_kwargs)
    assert 0.0 < score < 1.0


def test_import_is_light():
    code = ("import sys, json; import pipelines.adapters.verl_reward, rl.trainer, pipelines.cli.rl_cmds, "
            "rl.policy_gradient; "
            "print(json.dumps([m for m in ('torch', 'vllm', 'ray') if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
