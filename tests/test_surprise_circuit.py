"""The circuit tag PRM: each built layer computes what it is built for, the checkpoint is a plain tag PRM
that ``PRMScorer`` loads, and bad settings are refused."""
import math

import pytest

torch = pytest.importorskip("torch")

from prm_training.prm_fixtures import make_tiny_base, write_label_fixture  # noqa: E402
from prm_training.surprise_circuit import (CONSTANT, FEATURE_SCALE, CircuitPRMConfig, distance_one_rope,  # noqa: E402
                                           residuals, train_circuit_prm)

FAST = dict(fit_steps=200, identity_steps=200, num_threads=1, val_fraction=0.25)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("circuit")
    base = make_tiny_base(root / "base")
    labels = write_label_fixture(root / "labels", n_problems=12, traces_per_problem=3)
    summary = train_circuit_prm(labels, root / "prm", CircuitPRMConfig(base_model=str(base), **FAST), progress=False)
    return root, labels, summary


def _examples(prm_dir, labels):
    from dataclasses import replace

    from prm_training.prm_data import load_label_rows, make_examples
    from prm_training.prm_format import PRMConfig
    from prm_training.prm_model import load_causal_lm

    model, tokenizer = load_causal_lm(prm_dir)
    tokens = replace(PRMConfig.load(prm_dir).tokens, tag_prefix="", step_separator="")
    rows = load_label_rows(labels)
    return model.eval(), tokenizer, make_examples(rows, tokenizer, tokens, "hard", 512)


@pytest.mark.parametrize("head_dim,max_len", [(32, 512), (16, 128)])
def test_rope_query_and_key_peak_at_distance_one(head_dim, max_len):
    """Through the real Llama rotary embedding: position t attends to t - 1 with the planned margin."""
    from transformers import LlamaConfig
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding, apply_rotary_pos_emb

    q, k, _ = distance_one_rope(head_dim, 10000.0, max_len, gap_nats=20.0)
    rope = LlamaRotaryEmbedding(LlamaConfig(hidden_size=head_dim * 2, num_attention_heads=2, head_dim=head_dim,
                                            max_position_embeddings=max_len))
    pos = torch.arange(max_len)[None]
    cos, sin = rope(torch.zeros(1, max_len, head_dim), pos)
    qs, ks = apply_rotary_pos_emb(q.expand(1, 1, max_len, head_dim), k.expand(1, 1, max_len, head_dim), cos, sin)
    scores = (qs[0, 0] @ ks[0, 0].T) / math.sqrt(head_dim)
    for t in (1, 7, max_len - 1):
        row = scores[t, : t + 1]
        assert int(row.argmax()) == t - 1
        if t > 1:
            assert row[t - 1] - torch.cat([row[: t - 1], row[t:]]).max() >= 20.0 - 1e-3


def test_constant_and_copy_layers_compute_what_they_are_built_for(built):
    root, labels, summary = built
    model, tokenizer, examples = _examples(root / "prm", labels)
    n_base = model.config.num_hidden_layers - summary["axes"]["layers"]
    assert summary["axes"]["layers"] == 5  # sharp_identity is the default
    axes = summary["axes"]
    after_constant = residuals(model, examples, tokenizer.pad_token_id, n_base + 1)
    for h in after_constant:
        assert torch.allclose(h[:, axes["constant"]], torch.full((len(h),), CONSTANT), rtol=1e-3)
    fit_out = torch.cat(residuals(model, examples, tokenizer.pad_token_id, n_base))
    copy_in = residuals(model, examples, tokenizer.pad_token_id, n_base + 2, before_mlp=True)
    layer = model.get_decoder().layers[n_base + 2].self_attn
    src = [int(layer.v_proj.weight[j].abs().argmax()) for j in range(10)]
    dst = [int(layer.o_proj.weight[:, j].abs().argmax()) for j in range(10)]
    start = 0
    for h_in, e in zip(copy_in, examples):
        h_fit = fit_out[start:start + len(e.input_ids)]
        start += len(e.input_ids)
        copied = (h_in[1:, dst] - h_fit[1:, dst]) / FEATURE_SCALE  # what the copy head added at t
        assert torch.allclose(copied, h_fit[:-1, src] / FEATURE_SCALE, atol=2e-2)


def test_checkpoint_is_a_float32_tag_prm(built):
    from prm_training.prm_format import PRMConfig
    from prm_training.scorer import PRMScorer

    root, _, summary = built
    cfg = PRMConfig.load(root / "prm")
    assert cfg.kind == "tag" and cfg.dtype == "float32" and cfg.train["calibration"] == summary["calibration"]
    scores = PRMScorer.from_pretrained(root / "prm", threads=1).score("What is 2 + 3?", ["2 + 3 = 5", "The answer is 5"])
    assert len(scores) == 2 and all(0.0 < s < 1.0 for s in scores)
    assert summary["validation"]["val_reference"] == "gold" and 0.0 <= summary["validation"]["val_step_auc"] <= 1.0


def test_bad_settings_are_refused(tmp_path):
    with pytest.raises(ValueError, match="CircuitPRMConfig.label_type"):
        CircuitPRMConfig(base_model="x", label_type="fuzzy")
    with pytest.raises(ValueError, match="y_clip"):
        CircuitPRMConfig(base_model="x", y_clip=0)
    base = make_tiny_base(tmp_path / "base", hidden_size=64)
    from transformers import AutoConfig

    cfg = AutoConfig.from_pretrained(base)
    cfg.intermediate_size = 64
    cfg.save_pretrained(base)
    from transformers import AutoModelForCausalLM

    AutoModelForCausalLM.from_config(cfg).save_pretrained(base)
    labels = write_label_fixture(tmp_path / "labels", n_problems=4, traces_per_problem=2)
    with pytest.raises(ValueError, match="intermediate_size >= 2 \\* hidden_size"):
        train_circuit_prm(labels, tmp_path / "prm", CircuitPRMConfig(base_model=str(base), **FAST), progress=False)


def test_unsharpened_variant_builds_four_layers(tmp_path):
    base = make_tiny_base(tmp_path / "base")
    labels = write_label_fixture(tmp_path / "labels", n_problems=6, traces_per_problem=2)
    summary = train_circuit_prm(labels, tmp_path / "prm", CircuitPRMConfig(base_model=str(base), sharp_identity=False,
                                                                        **FAST), progress=False)
    from transformers import AutoConfig

    assert summary["axes"]["layers"] == 4 and AutoConfig.from_pretrained(tmp_path / "prm").num_hidden_layers == 2 + 4


def test_rerun_finds_the_build_and_other_settings_are_refused(built):
    root, labels, summary = built
    base = CircuitPRMConfig(base_model=str(root / "base"), **FAST)
    again = train_circuit_prm(labels, root / "prm", base, progress=False)
    assert again["status"] == "already finished" and again["calibration"] == summary["calibration"]
    with pytest.raises(ValueError, match="holds another PRM"):
        train_circuit_prm(labels, root / "prm", CircuitPRMConfig(base_model=str(root / "base"), **{**FAST, "seed": 1}),
                          progress=False)
    (root / "busy").mkdir()
    (root / "busy" / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not empty and holds no PRM"):
        train_circuit_prm(labels, root / "busy", base, progress=False)
    assert (root / "busy" / "notes.txt").read_text() == "keep me"
