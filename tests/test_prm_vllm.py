"""vLLM parity: the exported PRM scores the same through vLLM's pooling runner as through transformers."""
import pytest

pytest.importorskip("vllm")
torch = pytest.importorskip("torch")

from prm_training.prm_fixtures import fixture_rows, make_tiny_base, write_label_fixture  # noqa: E402
from prm_training.prm_trainer import PRMTrainConfig, train_prm  # noqa: E402


@pytest.fixture(scope="module", params=[(0, "spaced"), (2, "native")], ids=["plain", "extra_layers2_native"])
def prm_path(request, tmp_path_factory):
    """A PRM on the tiny base as it is, and one with 2 decoder layers added on top (a 4-layer Llama)
    reading the "native" tag format."""
    root = tmp_path_factory.mktemp("prm_vllm")
    base = make_tiny_base(root / "base")
    labels = write_label_fixture(root / "labels", n_problems=6, traces_per_problem=2)
    cfg = PRMTrainConfig(base_model=str(base), epochs=1, batch_size=4, lr=3e-3, val_fraction=0.0, num_threads=1,
                         extra_layers=request.param[0], tag_format=request.param[1])
    train_prm(labels, root / "prm", cfg, progress=False)
    return root / "prm"


def test_vllm_scores_match_transformers(prm_path):
    from prm_training.load import load_prm
    from prm_training.vllm_scorer import VLLMPRMScorer

    items = [(r.prompt, r.completions) for r in fixture_rows(5, 2, seed=11)]
    items += [("What is 2 + 3?", ["2 + 3 = 5", "5 * 2 = 10", "10 - 1 = 9", "The answer is 9"]), ("Empty?", [])]
    hf = load_prm(prm_path, threads=1).score_batch(items)
    scorer = VLLMPRMScorer.from_pretrained(prm_path)
    vl = scorer.score_batch(items)
    assert [len(s) for s in vl] == [len(s) for s in hf] == [len(steps) for _, steps in items]
    diffs = [abs(a - b) for x, y in zip(hf, vl) for a, b in zip(x, y)]
    assert max(diffs) < 1e-3, max(diffs)
    assert len({round(x, 4) for s in hf for x in s}) > 3  # not a constant model
    assert scorer.score(*items[-2]) == pytest.approx(vl[-2], abs=1e-6)


def test_likelihood_prm_scores_match_through_vllm_prompt_logprobs(tmp_path):
    """A likelihood PRM scores through vLLM (prompt log-probabilities) as through transformers."""
    from prm_training.likelihood_prm import fit_likelihood_prm
    from prm_training.load import load_prm
    from prm_training.vllm_scorer import VLLMLikelihoodPRMScorer, VLLMPRMScorer

    base = make_tiny_base(tmp_path / "base")
    labels = write_label_fixture(tmp_path / "labels", n_problems=6, traces_per_problem=2)
    fit_likelihood_prm(labels, tmp_path / "lik", base_model=str(base), label_type="soft", val_fraction=0.0)
    items = [(r.prompt, r.completions) for r in fixture_rows(5, 2, seed=12)]
    items += [("What is 2 + 3?", ["2 + 3 = 5", "5 * 2 = 10", "10 - 1 = 9", "The answer is 9"]), ("Empty?", [])]
    hf = load_prm(tmp_path / "lik", threads=1).score_batch(items)
    scorer = VLLMPRMScorer.from_pretrained(tmp_path / "lik")
    assert isinstance(scorer, VLLMLikelihoodPRMScorer)
    vl = scorer.score_batch(items)
    assert [len(s) for s in vl] == [len(s) for s in hf] == [len(steps) for _, steps in items]
    diffs = [abs(a - b) for x, y in zip(hf, vl) for a, b in zip(x, y)]
    assert max(diffs) < 1e-3, max(diffs)
    assert len({round(x, 4) for s in hf for x in s}) > 3  # the features vary: not a constant calibration
    with pytest.raises(ValueError, match="max_length"):
        scorer.score("x", ["1 + 1 = 2"] * 400)
