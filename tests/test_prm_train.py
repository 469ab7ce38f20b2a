"""PRM trainer: loss goes down, runs are deterministic, an interrupted run resumes to the same weights,
and the exported checkpoint round-trips through ``PRMScorer`` and ``eval-prm``."""
import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from prm_training.prm_fixtures import make_tiny_base, write_label_fixture  # noqa: E402
from prm_training.prm_trainer import PRMTrainConfig, last_checkpoint, train_prm  # noqa: E402


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("prm_inputs")
    return make_tiny_base(root / "base"), write_label_fixture(root / "labels", n_problems=12, traces_per_problem=3)


def _cfg(base, **kw):
    kw = {"epochs": 2, "batch_size": 8, "lr": 3e-3, "val_fraction": 0.25, "num_threads": 1, "label_type": "soft", **kw}
    return PRMTrainConfig(base_model=str(base), **kw)


def _weights(path):
    from safetensors.torch import load_file

    return load_file(str(Path(path) / "model.safetensors"))


@pytest.fixture(scope="module")
def trained(inputs, tmp_path_factory):
    base, labels = inputs
    out = tmp_path_factory.mktemp("prm") / "soft"
    summary = train_prm(labels, out, _cfg(base), progress=False)
    return out, summary


def test_training_lowers_loss_on_the_fixture(inputs, tmp_path):
    """A few steps on 6 traces: the loss on them (measured outside the trainer) goes down."""
    from prm_training.prm_data import load_label_rows, make_examples
    from prm_training.prm_format import resolve_tokens
    from prm_training.prm_model import load_causal_lm, score_examples

    base, _ = inputs
    labels = write_label_fixture(tmp_path / "small", n_problems=2, traces_per_problem=3)
    rows = load_label_rows(labels)

    def mean_loss(path):
        model, tok = load_causal_lm(path)
        tokens = resolve_tokens(tok)
        ex = make_examples(rows, tok, tokens, "soft", 512)
        q = torch.tensor([s for row in score_examples(model, ex, tokens, tok.pad_token_id) for s in row])
        p = torch.tensor([t for e in ex for t in e.targets])
        return -(p * q.log() + (1 - p) * (1 - q).log()).mean().item()

    out = tmp_path / "prm"
    summary = train_prm(labels, out, _cfg(base, epochs=20, val_fraction=0.0, warmup_fraction=0.2), progress=False)
    assert summary["status"] == "finished" and summary["global_step"] == 20
    before, after = mean_loss(base), mean_loss(out)
    assert after < before - 0.1, (before, after)
    history = [h["train_loss"] for h in summary["history"]]
    assert history[-1] < history[0] - 0.1


def test_same_seed_same_weights_and_resume_matches(inputs, trained, tmp_path):
    base, labels = inputs
    ref = _weights(trained[0])
    again = tmp_path / "again"
    train_prm(labels, again, _cfg(base), progress=False)
    assert all(torch.equal(ref[k], v) for k, v in _weights(again).items())

    # interrupted after epoch 1, then the same command again: continues from the checkpoint
    cut = tmp_path / "cut"
    first = train_prm(labels, cut, _cfg(base, stop_after_epochs=1), progress=False)
    assert first["epochs_done"] == 1 and not (cut / "prm_config.json").exists()
    assert last_checkpoint(cut).name == "epoch-1"
    resumed = train_prm(labels, cut, _cfg(base), progress=False)
    assert resumed["status"] == "finished" and [h["epoch"] for h in resumed["history"]] == [1, 2]
    assert all(torch.equal(ref[k], v) for k, v in _weights(cut).items())
    assert train_prm(labels, cut, _cfg(base), progress=False)["status"] == "already finished"

    # killed in the middle of epoch 2 (and while writing its checkpoint): the rerun redoes epoch 2
    import prm_training.prm_model as prm_model

    crash = tmp_path / "crash"
    train_prm(labels, crash, _cfg(base, stop_after_epochs=1), progress=False)
    real_loss, calls = prm_model.soft_bce_loss, []

    def dying_loss(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_loss(*args, **kwargs)

    prm_model.soft_bce_loss = dying_loss
    try:
        with pytest.raises(KeyboardInterrupt):
            train_prm(labels, crash, _cfg(base), progress=False)
    finally:
        prm_model.soft_bce_loss = real_loss
    (crash / "checkpoints" / "epoch-2").mkdir()  # a half-written checkpoint has no state.json
    assert last_checkpoint(crash).name == "epoch-1"
    train_prm(labels, crash, _cfg(base), progress=False)
    assert all(torch.equal(ref[k], v) for k, v in _weights(crash).items())
    with pytest.raises(ValueError, match="other settings"):
        train_prm(labels, cut, _cfg(base, lr=1e-4), progress=False)


def test_hard_and_soft_runs_differ(inputs, trained, tmp_path):
    base, labels = inputs
    hard = tmp_path / "hard"
    train_prm(labels, hard, _cfg(base, label_type="hard", epochs=1), progress=False)
    soft1 = tmp_path / "soft1"
    train_prm(labels, soft1, _cfg(base, epochs=1), progress=False)
    w_hard, w_soft = _weights(hard), _weights(soft1)
    assert any(not torch.equal(w_hard[k], w_soft[k]) for k in w_hard)
    assert json.loads((hard / "prm_config.json").read_text())["label_type"] == "hard"


def test_scorer_round_trip(inputs, trained):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from data.prompt_format import build_prompt
    from prm_training.prm_format import prm_text
    from prm_training.load import load_prm

    out, _ = trained
    cfg = json.loads((out / "prm_config.json").read_text())
    manifest = json.loads((inputs[1] / "manifest.json").read_text())
    assert cfg["labels_run_id"] == manifest["run_id"] and len(cfg["labels_manifest_sha256"]) == 64
    assert (cfg["step_tag"], cfg["good_token"], cfg["bad_token"]) == ("ки", "+", "-")
    assert cfg["label_type"] == "soft" and cfg["base_model"] == Path(inputs[0]).name  # portable: no absolute path
    assert cfg["train"]["base_model_sha256"] and not cfg["labels_dir"].startswith("/")
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        assert (out / name).exists()

    scorer = load_prm(out, threads=1)
    items = [("What is 3 + 4?", ["3 + 4 = 7", "The answer is 7"]), ("What is 9 - 2?", ["9 - 2 = 6"]),
             ("Long one?", ["1 + 1 = 2", "2 + 2 = 4", "4 + 4 = 8", "8 + 8 = 16"])]
    batch = scorer.score_batch(items)
    assert [len(s) for s in batch] == [2, 1, 4] and all(0 < x < 1 for s in batch for x in s)
    assert scorer.score_batch([{"question": q, "steps": s} for q, s in items]) == batch
    assert scorer.score("Q?", []) == []

    # independent path: the full LM forward, softmax over the (+, -) logits at the tag tokens
    model = AutoModelForCausalLM.from_pretrained(str(out), dtype=torch.float32)
    tok = AutoTokenizer.from_pretrained(str(out))
    for (q, steps), got in zip(items, batch):
        assert scorer.score(q, steps) == pytest.approx(got, abs=1e-5)
        ids = tok(prm_text(build_prompt(q), steps), return_tensors="pt")["input_ids"]
        with torch.no_grad():
            logits = model(ids).logits[0]
        ref = logits[ids[0] == cfg["step_tag_id"]][:, [cfg["good_token_id"], cfg["bad_token_id"]]].softmax(-1)[:, 0]
        assert got == pytest.approx(ref.tolist(), abs=1e-5)


def test_eval_writes_metrics_and_plot(inputs, trained, tmp_path):
    from prm_training.prm_data import split_rows, load_label_rows
    from prm_training.prm_eval import evaluate_prm

    out, _ = trained
    metrics = evaluate_prm(out, inputs[1], tmp_path / "eval", split="val")
    saved = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    for key in ("step_auc", "step_accuracy", "first_error_f1", "reference", "ece", "calibration"):
        assert key in saved
    assert saved["reference"] == "gold" and saved["split"] == "val"
    n_val = len(split_rows(load_label_rows(inputs[1]), 0.25)[1])
    assert saved["n_traces"] == n_val and 0 < n_val < 36
    assert sum(b["count"] for b in saved["calibration"]) == saved["n_steps"]
    assert (tmp_path / "eval" / "prm_eval.png").stat().st_size > 1000
    all_split = evaluate_prm(out, inputs[1], None, split="all")
    assert all_split["n_traces"] == 36 and metrics["step_auc"] is not None


def test_device_setting_is_checked(inputs, tmp_path):
    base, labels = inputs
    with pytest.raises(ValueError, match="PRMTrainConfig.device must be 'auto', 'cpu', 'cuda' or 'cuda:N'"):
        _cfg(base, device="tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="PRMTrainConfig.device: 'cuda' asked for, but torch sees no CUDA GPU"):
            train_prm(labels, tmp_path / "prm", _cfg(base, device="cuda"), progress=False)
    summary = train_prm(labels, tmp_path / "auto", _cfg(base, epochs=1, device="auto"), progress=False)
    assert summary["device"] == ("cuda" if torch.cuda.is_available() else "cpu")
