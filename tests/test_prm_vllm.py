"""vLLM parity: the exported PRM scores the same through vLLM's pooling runner as through transformers."""
import pytest

pytest.importorskip("vllm")
torch = pytest.importorskip("torch")

from prm_training.prm_fixtures import CHATML_TEMPLATE, fixture_rows, make_tiny_base, write_label_fixture  # noqa: E402
from prm_training.prm_trainer import PRMTrainConfig, train_prm  # noqa: E402


@pytest.fixture(scope="module", params=["plain", "chat"])
def prm_path(request, tmp_path_factory):
    """A tag PRM trained on plain-format labels, and one on chat-format labels (a ChatML template): the
    chat one must render new questions through the template as its labels did."""
    from transformers import AutoTokenizer

    from labelers.prompter import Prompter

    root = tmp_path_factory.mktemp("prm_vllm")
    chat = request.param == "chat"
    base = make_tiny_base(root / "base", chat_template=CHATML_TEMPLATE if chat else None)
    prompter = Prompter.build("chat", AutoTokenizer.from_pretrained(base)) if chat else None
    labels = write_label_fixture(root / "labels", n_problems=6, traces_per_problem=2, prompter=prompter)
    cfg = PRMTrainConfig(base_model=str(base), epochs=1, batch_size=4, lr=3e-3, val_fraction=0.0, num_threads=1)
    train_prm(labels, root / "prm", cfg, progress=False)
    if chat:
        import json

        assert json.loads((root / "prm" / "prm_config.json").read_text())["prompt_format"]["kind"] == "chat"
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
    from prm_training.vllm_scorer import VLLMLikelihoodPRMScorer

    base = make_tiny_base(tmp_path / "base")
    labels = write_label_fixture(tmp_path / "labels", n_problems=6, traces_per_problem=2)
    fit_likelihood_prm(labels, tmp_path / "lik", base_model=str(base), label_type="soft", val_fraction=0.0)
    items = [(r.prompt, r.completions) for r in fixture_rows(5, 2, seed=12)]
    items += [("What is 2 + 3?", ["2 + 3 = 5", "5 * 2 = 10", "10 - 1 = 9", "The answer is 9"]), ("Empty?", [])]
    hf = load_prm(tmp_path / "lik", threads=1).score_batch(items)
    scorer = load_prm(tmp_path / "lik", backend="vllm")
    assert isinstance(scorer, VLLMLikelihoodPRMScorer)
    vl = scorer.score_batch(items)
    assert [len(s) for s in vl] == [len(s) for s in hf] == [len(steps) for _, steps in items]
    diffs = [abs(a - b) for x, y in zip(hf, vl) for a, b in zip(x, y)]
    assert max(diffs) < 1e-3, max(diffs)
    assert len({round(x, 4) for s in hf for x in s}) > 3  # the features vary: not a constant calibration
    with pytest.raises(ValueError, match="max_length"):
        scorer.score("x", ["1 + 1 = 2"] * 400)
