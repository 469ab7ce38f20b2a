"""The PPO-clip update: ``ppo_epochs`` passes over minibatches of samples, with a k3 KL to the frozen
starting policy; log-probabilities at the sampling temperature (logits / T)."""
from __future__ import annotations

import random
from typing import Sequence

from data.records import seed_from
from rl.config import RLConfig
from rl.rollout import Sample


def _collate(samples: Sequence[Sample], pad_id: int):
    """Right-padded ``input_ids`` and ``attention_mask``; the completion mask and advantages of the shifted targets."""
    import torch

    seqs = [s.prompt_ids + s.completion_ids for s in samples]
    width = max(len(x) for x in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    attn = torch.zeros((len(seqs), width), dtype=torch.long)
    mask = torch.zeros((len(seqs), width - 1))
    adv = torch.zeros((len(seqs), width - 1))
    for i, (s, seq) in enumerate(zip(samples, seqs)):
        ids[i, : len(seq)] = torch.tensor(seq)
        attn[i, : len(seq)] = 1
        start, end = len(s.prompt_ids) - 1, len(seq) - 1  # target t+1 is predicted at position t
        mask[i, start:end] = 1.0
        adv[i, start:end] = torch.tensor(s.advantages, dtype=torch.float32)
    return ids, attn, mask, adv


def _logprobs(model, samples: Sequence[Sample], pad_id: int, temperature: float, batch: int = 64):
    import torch

    from rl.policy_gradient import token_logprobs

    device = next(model.parameters()).device
    out = []
    with torch.no_grad():
        for k in range(0, len(samples), batch):
            ids, attn, _, _ = _collate(samples[k:k + batch], pad_id)
            out.extend(token_logprobs(model, ids.to(device), attn.to(device), temperature))
    return out  # one [T-1] tensor per sample (width of its chunk)


def ppo_update(model, ref_model, optimizer, samples: list[Sample], cfg: RLConfig, iteration: int, pad_id: int) -> dict:
    """``ppo_epochs`` passes of PPO-clip + k3 KL over shuffled minibatches; the means of the logged terms."""
    import torch

    from prm_training.optim import optimizer_step
    from rl.policy_gradient import policy_loss, stratified_order, token_logprobs

    samples = [s for s in samples if s.completion_ids and (not cfg.drop_zero_advantage or any(s.advantages))]
    device = next(model.parameters()).device
    if not samples:
        return {"loss": 0.0, "pg_loss": 0.0, "kl": 0.0, "clip_fraction": 0.0, "trained_samples": 0}
    old = _logprobs(model, samples, pad_id, cfg.temperature)
    ref = _logprobs(ref_model, samples, pad_id, cfg.temperature)
    sums: dict[str, float] = {}
    steps = 0
    rng = random.Random(seed_from("rl-minibatch", cfg.seed, iteration))
    for _ in range(cfg.ppo_epochs):
        if cfg.stratify:
            order = stratified_order([s.group for s in samples], rng)
        else:
            order = list(range(len(samples)))
            rng.shuffle(order)
        for k in range(0, len(order), cfg.minibatch_size):
            idx = order[k:k + cfg.minibatch_size]
            batch = [samples[i] for i in idx]
            ids, attn, mask, adv = (t.to(device) for t in _collate(batch, pad_id))
            width = ids.shape[1] - 1
            lp_old = torch.stack([_fit(old[i], width) for i in idx])
            lp_ref = torch.stack([_fit(ref[i], width) for i in idx])
            lp_new = token_logprobs(model, ids, attn, cfg.temperature)
            parts = policy_loss(lp_new, lp_old, lp_ref, adv, mask, clip=cfg.clip, kl_coef=cfg.kl_coef,
                                 clip_high=cfg.clip_high or None)
            optimizer_step(optimizer, parts["loss"], cfg.grad_clip)
            for key, value in parts.items():
                sums[key] = sums.get(key, 0.0) + float(value.detach())
            steps += 1
    return {**{k: v / steps for k, v in sums.items()}, "trained_samples": len(samples)}


def _fit(row, width: int):
    """A 1-D tensor padded with zeros or cut to ``width``."""
    import torch

    return torch.nn.functional.pad(row, (0, max(0, width - len(row))))[:width]
