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


EXTRA_LAYER_INITS = ("copy", "random")


def add_extra_layers(model, k: int, init: str = "copy"):
    """Append ``k`` decoder layers on top of a Llama-style causal LM, in place; returns ``model``.

    Why: the policy's prediction for token ``t`` exists only in its last layer's state at ``t - 1``;
    a new layer on top can attend from ``t`` to that state and compare it with the written token,
    a second one can carry the mismatch to the step tag (docs/prm.md, "Deeper tag PRM").

    Each new layer is a copy of the last base layer (``init="copy"``) or freshly initialised
    (``"random"``: normal(0, ``initializer_range``) linears, unit norms), with its attention output
    projection ``o_proj`` and MLP ``down_proj`` set to zero: a zero residual update, so the model
    still computes exactly what the base model computes until training moves them. The result is
    a plain ``LlamaForCausalLM`` with ``num_hidden_layers = L + k`` (transformers and vLLM load it).
    """
    import copy

    import torch

    if k <= 0:
        return model
    if init not in EXTRA_LAYER_INITS:
        raise ValueError(f"extra-layer init must be one of {EXTRA_LAYER_INITS}, got {init!r}")
    layers = model.get_decoder().layers
    config = model.config
    n_base = config.num_hidden_layers
    if len(layers) != n_base or getattr(config, "layer_types", None):
        raise ValueError("add_extra_layers supports plain Llama-style stacks (no per-layer types)")
    std = getattr(config, "initializer_range", 0.02)
    for i in range(k):
        layer = copy.deepcopy(layers[n_base - 1])
        with torch.no_grad():
            if init == "random":
                for module in layer.modules():
                    if isinstance(module, torch.nn.Linear):
                        module.weight.normal_(0.0, std)
                        if module.bias is not None:
                            module.bias.zero_()
                    elif hasattr(module, "weight") and module.weight.dim() == 1:  # RMSNorm
                        module.weight.fill_(1.0)
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
            for proj in (layer.self_attn.o_proj, layer.mlp.down_proj):
                if proj.bias is not None:
                    proj.bias.zero_()
        layer.self_attn.layer_idx = n_base + i
        layers.append(layer)
    config.num_hidden_layers = n_base + k
    return model


def init_tag_embedding(model, tag_id: int, like_id: int) -> None:
    """Set the input embedding of the step tag to that of ``like_id`` (the newline, for the "native"
    tag format): the policy then reads ``step1<tag>step2<tag>`` exactly as its own ``step1\nstep2\n``."""
    import torch

    emb = model.get_input_embeddings().weight
    with torch.no_grad():
        emb[tag_id] = emb[like_id]


def freeze_base(model, n_base_layers: int) -> list:
    """Freeze the embeddings and the first ``n_base_layers`` decoder layers; returns the parameters left
    trainable (the new layers, the final norm and the LM head, of which only the ``+``/``-`` rows get a
    gradient in ``pair_logits``)."""
    decoder = model.get_decoder()
    for module in [decoder.embed_tokens, *decoder.layers[:n_base_layers]]:
        for param in module.parameters():
            param.requires_grad_(False)
    return [p for p in model.parameters() if p.requires_grad]


def base_parameter_names(model, n_base_layers: int) -> set[str]:
    """Names of the parameters that came from the base model's embeddings and first ``n_base_layers`` layers."""
    decoder = model.get_decoder()
    ids = {id(p) for m in [decoder.embed_tokens, *decoder.layers[:n_base_layers]] for p in m.parameters()}
    return {name for name, p in model.named_parameters() if id(p) in ids}


def pair_logits(model, input_ids, attention_mask, tag_mask, tokens: PRMTokens, aux_mask=None):
    """``[n_tags, 2]`` logits of ``[good, bad]`` at the True positions of ``tag_mask`` (row-major order).

    With ``aux_mask``, a pair ``(tag logits, aux logits)`` from the same forward pass (the dense
    distillation positions of ``PRMTrainConfig.distill_weight``)."""
    backbone = model.get_decoder() if hasattr(model, "get_decoder") else model.base_model
    device = model.get_output_embeddings().weight.device
    input_ids, attention_mask, tag_mask = input_ids.to(device), attention_mask.to(device), tag_mask.to(device)
    aux_mask = aux_mask.to(device) if aux_mask is not None else None
    hidden = backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
    head = model.get_output_embeddings()
    rows = [tokens.good_token_id, tokens.bad_token_id]

    def at(mask):
        logits = hidden[mask] @ head.weight[rows].T
        if getattr(head, "bias", None) is not None:
            logits = logits + head.bias[rows]
        return logits

    return at(tag_mask) if aux_mask is None else (at(tag_mask), at(aux_mask))


def policy_surprise(model, examples, prompt_lens, tokens: PRMTokens, pad_id: int, batch_size: int = 32):
    """Per example and position, the running minimum of ``model``'s log-probability of each written
    solution token so far (0 in the prompt; clipped at ``likelihood_prm.FLOOR``, as that PRM clips).

    Tags, and the tag prefix/separator tokens around them, are not solution tokens: they carry the
    running minimum on. At a tag this is the likelihood PRM's ``running_min`` feature
    (``likelihood_prm``), when the model reads the policy's own text (the "native" tag format).
    """
    import torch

    from prm_training.likelihood_prm import FLOOR
    from prm_training.prm_data import collate

    out = []
    with torch.inference_mode():
        for k in range(0, len(examples), batch_size):
            chunk = examples[k:k + batch_size]
            input_ids, attention, _, _ = collate(chunk, pad_id)
            device = model.get_output_embeddings().weight.device
            logits = model(input_ids=input_ids.to(device), attention_mask=attention.to(device)).logits.float().cpu()
            logprobs = logits[:, :-1].log_softmax(-1).gather(-1, input_ids[:, 1:, None])[..., 0]
            for row, (e, start) in enumerate(zip(chunk, prompt_lens[k:k + batch_size])):
                skip = set(e.tag_positions)
                skip |= {p - 1 for p in e.tag_positions} if tokens.tag_prefix else set()
                skip |= {p + 1 for p in e.tag_positions} if tokens.step_separator else set()
                running, values = 0.0, []
                for t in range(len(e.input_ids)):
                    if t >= max(start, 1) and t not in skip:
                        running = min(running, max(FLOOR, logprobs[row, t - 1].item()))
                    values.append(running)
                out.append(values)
    return out


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
