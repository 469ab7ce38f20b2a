"""The PRM head and loss: two LM-head rows read at the step-tag positions of a causal LM.

The score of a step is ``softmax([logit(good), logit(bad)])[0]`` at its tag token. Only the
two LM-head rows are applied, and only at tag positions, which is also exactly what vLLM's
``classify`` conversion computes (``prm_format.vllm_settings``). The loss is the binary
cross-entropy against a float target ``p``: ``-(p log q + (1 - p) log(1 - q))``. Hard labels
are the case ``p in {0, 1}``. Soft labels stay float (TRL's ``int(label)`` would floor them).

Torch is imported inside the functions only.
"""
from __future__ import annotations

from pathlib import Path

from prm_training.prm_format import PRMTokens


def load_causal_lm(path: str | Path):
    """``(model, tokenizer)`` in float32 from an HF checkpoint directory."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(path))
    model = AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def pair_logits(model, input_ids, attention_mask, tag_mask, tokens: PRMTokens):
    """``[n_tags, 2]`` logits of ``[good, bad]`` at the True positions of ``tag_mask`` (row-major order)."""
    backbone = model.get_decoder() if hasattr(model, "get_decoder") else model.base_model
    device = model.get_output_embeddings().weight.device
    input_ids, attention_mask, tag_mask = input_ids.to(device), attention_mask.to(device), tag_mask.to(device)
    hidden = backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
    head = model.get_output_embeddings()
    rows = [tokens.good_token_id, tokens.bad_token_id]

    logits = hidden[tag_mask] @ head.weight[rows].T
    if getattr(head, "bias", None) is not None:
        logits = logits + head.bias[rows]
    return logits


def good_probability(logits):
    """P(good) from ``[n, 2]`` pair logits."""
    return logits.float().softmax(dim=-1)[:, 0]


def soft_bce_loss(logits, targets, reduction: str = "mean"):
    """Cross-entropy of the 2-way softmax against float targets ``p`` = P(good), per tag or averaged.

    With ``q = softmax(logits)[0]`` this is ``-(p log q + (1 - p) log(1 - q))``; it is minimal at
    ``q = p`` and its gradient w.r.t. ``logit(good) - logit(bad)`` is ``q - p``.
    """
    logq = logits.float().log_softmax(dim=-1)
    targets = targets.to(device=logq.device, dtype=logq.dtype)
    loss = -(targets * logq[:, 0] + (1.0 - targets) * logq[:, 1])
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.mean()


def score_examples(model, examples, tokens: PRMTokens, pad_id: int, batch_size: int = 32) -> list[list[float]]:
    """P(good) per tag position for tokenized examples (``prm_data.PRMExample``), in evaluation mode."""
    import torch

    from prm_training.prm_data import collate

    was_training = model.training
    model.eval()
    scores: list[list[float]] = []
    with torch.inference_mode():
        for k in range(0, len(examples), batch_size):
            chunk = examples[k:k + batch_size]
            input_ids, attention, tag_mask, _ = collate(chunk, pad_id)
            probs = good_probability(pair_logits(model, input_ids, attention, tag_mask, tokens)).tolist()
            for e in chunk:
                scores.append(probs[: len(e.tag_positions)])
                probs = probs[len(e.tag_positions):]
    model.train(was_training)
    return scores
