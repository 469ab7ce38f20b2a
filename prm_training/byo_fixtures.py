"""Tiny randomly initialised third-party PRM checkpoints, for tests of ``--prm-format`` (no hub is reachable).

- ``make_tiny_math_shepherd``: a Llama causal LM with the embedded policy's tokenizer (``ки``, ``+``, ``-``
  are single tokens there) and no ``prm_config.json``: what a Math-Shepherd-style checkpoint looks like.
- ``make_tiny_qwen_prm``: a Qwen2 backbone with a two-class token head, the tokenizer extended by the
  special token ``<extra_0>`` and given a ChatML template, as ``architecture``
  ``Qwen2ForProcessRewardModel`` (Qwen2.5-Math-PRM's two-layer head ``score.0``/``score.2``) or
  ``Qwen2ForTokenClassification`` (transformers' one-layer ``score``, as TRL trains PRMs).

Both use ``head_dim`` 32, so vLLM on CPU loads them.
"""
from __future__ import annotations

from pathlib import Path

from prm_training.prm_fixtures import CHATML_TEMPLATE, make_tiny_base

QWEN_SEPARATOR = "<extra_0>"
QWEN_ARCHITECTURES = ("Qwen2ForProcessRewardModel", "Qwen2ForTokenClassification")


def make_tiny_math_shepherd(out: str | Path, seed: int = 0, head_std: float = 0.15) -> Path:
    """A causal LM scored at ``ки`` by ``+``/``-``; no ``prm_config.json``. The LM-head rows of ``+`` and ``-``
    are drawn with ``head_std``, so that scores spread over (0, 1) instead of sitting near 0.5."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = make_tiny_base(out, hidden_size=64, num_layers=2, seed=seed)
    tokenizer = AutoTokenizer.from_pretrained(str(out))
    model = AutoModelForCausalLM.from_pretrained(str(out), dtype=torch.float32)
    rows = [tokenizer.convert_tokens_to_ids(t) for t in ("+", "-")]
    generator = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        weight = model.get_output_embeddings().weight
        weight[rows] = torch.randn(len(rows), weight.shape[1], generator=generator) * head_std
    model.save_pretrained(out, safe_serialization=True)
    return out


def make_tiny_qwen_prm(out: str | Path, architecture: str = "Qwen2ForProcessRewardModel", seed: int = 0,
                       hidden_size: int = 64, num_layers: int = 2, head_std: float = 0.15) -> Path:
    """A two-class token-classification PRM in the Qwen2.5-Math-PRM layout (see the module docstring); the
    head's weights and biases are drawn with ``head_std``, so that scores spread over (0, 1)."""
    import torch
    from transformers import AutoTokenizer, Qwen2Config

    from data.assets import default_policy_path

    if architecture not in QWEN_ARCHITECTURES:
        raise ValueError(f"architecture {architecture!r}: expected one of {QWEN_ARCHITECTURES}")
    tokenizer = AutoTokenizer.from_pretrained(str(default_policy_path()))
    tokenizer.add_special_tokens({"additional_special_tokens": [QWEN_SEPARATOR]})
    tokenizer.chat_template = CHATML_TEMPLATE
    torch.manual_seed(seed)
    config = Qwen2Config(vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=2 * hidden_size,
                         num_hidden_layers=num_layers, num_attention_heads=hidden_size // 32,
                         num_key_value_heads=hidden_size // 32, head_dim=32, max_position_embeddings=1024,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=False, num_labels=2,
                         architectures=[architecture])
    if architecture == "Qwen2ForTokenClassification":
        from transformers import Qwen2ForTokenClassification

        model = Qwen2ForTokenClassification(config)
    else:
        from prm_training.qwen_prm import process_reward_model_class

        model = process_reward_model_class()(config)
    with torch.no_grad():  # biases too, so that a loader that drops one fails the parity tests
        for param in model.score.parameters():
            param.normal_(0.0, head_std)
    out = Path(out)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return out
