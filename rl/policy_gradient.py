"""The policy-gradient update of the RL loop: group-normalized advantages, PPO-clip, a k3 KL penalty.

Process supervision (DeepSeekMath, GRPO with process rewards): for one group of G samples of
the same problem, all step rewards of the group are normalized together, ``r~ = (r - mean) / std``,
and the advantage of step ``k`` is the sum of the normalized rewards of steps ``k, k+1, ...``.
Each token gets the advantage of the step it belongs to. The outcome variant normalizes one
reward per sample over the group and gives every token of the sample that advantage.

The advantage functions are plain Python; the losses take torch tensors (torch is imported
only inside them, so importing this module stays light).

>>> step_advantages([[1.0, 0.0], [1.0]])
[[-0.7071..., -1.4142...], [0.7071...]]
"""
from __future__ import annotations

import math
from typing import Sequence

EPS = 1e-6


KL_TOKEN_BOUND = 10.0  # verl clamps its low-variance KL to [-10, 10] per token


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    var = sum((v - mean) ** 2 for v in values) / len(values)
    return mean, math.sqrt(var)


def normalize(values: Sequence[float], eps: float = EPS) -> list[float]:
    """``(v - mean) / (std + eps)`` with the population std; all zeros when the std is below ``eps``.

    >>> normalize([1.0, 3.0])
    [-0.9999..., 0.9999...]
    >>> normalize([0.5, 0.5])
    [0.0, 0.0]
    """
    if not values:
        return []
    mean, std = _mean_std(values)
    if std <= eps:  # no signal in the group (float noise of equal values is not one)
        return [0.0] * len(values)
    return [(v - mean) / (std + eps) for v in values]


def step_advantages(step_rewards: list[list[float]], eps: float = EPS) -> list[list[float]]:
    """Process-supervision advantages of one group: normalize every step reward of every sample
    together, then each step's advantage is the sum of its own and all later normalized rewards.

    >>> adv = step_advantages([[1.0, 1.0], [0.0, 1.0], [0.0]])
    >>> [[round(a, 3) for a in row] for row in adv]
    [[1.633, 0.816], [-0.408, 0.816], [-1.225]]
    >>> step_advantages([[0.3], [0.3]])
    [[0.0], [0.0]]
    """
    if not step_rewards:
        raise ValueError("step_advantages: empty group")
    for i, row in enumerate(step_rewards):
        if not row:
            raise ValueError(f"step_advantages: sample {i} has no step rewards")
    flat = normalize([r for row in step_rewards for r in row], eps)
    out, k = [], 0
    for row in step_rewards:
        norm = flat[k:k + len(row)]
        k += len(row)
        suffix, acc = [], 0.0
        for r in reversed(norm):
            acc += r
            suffix.append(acc)
        out.append(suffix[::-1])
    return out


def outcome_advantages(rewards: list[float], eps: float = EPS) -> list[float]:
    """GRPO outcome advantages of one group: the group-normalized sample rewards.

    >>> [round(a, 3) for a in outcome_advantages([1.0, 0.0, 0.0, 1.0])]
    [1.0, -1.0, -1.0, 1.0]
    """
    if not rewards:
        raise ValueError("outcome_advantages: empty group")
    return normalize(rewards, eps)


def scale_negative(advantages: Sequence[float], scale: float) -> list[float]:
    """Multiply the negative advantages by ``scale``: 1 leaves them as they are, 0 keeps only the positive push.

    >>> scale_negative([1.5, -2.0, 0.0], 0.25)
    [1.5, -0.5, 0.0]
    """
    if scale < 0:
        raise ValueError(f"scale_negative: scale must be >= 0, got {scale}")
    return [a * scale if a < 0 else a for a in advantages]


def stratified_order(groups: Sequence[int], rng) -> list[int]:
    """Sample indices in an order that keeps the samples of one group apart: a random sample of every group
    (groups in random order), then a second of every group, and so on. Cut into minibatches, each then holds
    as many different problems as it can.

    >>> import random
    >>> order = stratified_order([0, 0, 1, 1, 2, 2], random.Random(0))
    >>> sorted(order) == list(range(6)), sorted({[0, 0, 1, 1, 2, 2][i] for i in order[:3]})
    (True, [0, 1, 2])
    """
    members: dict[int, list[int]] = {}
    for i, g in enumerate(groups):
        members.setdefault(g, []).append(i)
    for idx in members.values():
        rng.shuffle(idx)
    keys = list(members)
    rng.shuffle(keys)
    rounds = max((len(v) for v in members.values()), default=0)
    return [members[k][r] for r in range(rounds) for k in keys if r < len(members[k])]


def token_advantages(step_of_token: Sequence[int], step_adv: Sequence[float]) -> list[float]:
    """Each token's advantage: that of the step it belongs to (indices past the end clamp to the last step).

    >>> token_advantages([0, 0, 1, 1, 2], [0.5, -1.0])
    [0.5, 0.5, -1.0, -1.0, -1.0]
    """
    if not step_adv:
        raise ValueError("token_advantages: no step advantages")
    last = len(step_adv) - 1
    return [step_adv[min(max(s, 0), last)] for s in step_of_token]


def ppo_clip_loss(logp_new, logp_old, advantages, mask, clip: float = 0.2, clip_high: float | None = None):
    """PPO-clip surrogate, ``-min(ratio * A, clip(ratio, 1 - clip, 1 + clip_high) * A)``, averaged over
    the tokens where ``mask`` is 1. Returns ``(loss, clip_fraction)``. ``clip_high`` defaults to ``clip``
    (symmetric); a larger one is DAPO's "clip-higher": a token of a good sample may rise further in one
    iteration than a token of a bad sample may fall.

    >>> import torch
    >>> lp = torch.log(torch.tensor([[0.5, 0.5]]))
    >>> loss, frac = ppo_clip_loss(lp, lp, torch.tensor([[1.0, -1.0]]), torch.ones(1, 2))
    >>> float(loss), float(frac)
    (0.0, 0.0)
    >>> up = torch.log(torch.tensor([[0.65]])) - lp[:, :1]   # ratio 1.3 on a good token
    >>> round(float(ppo_clip_loss(lp[:, :1] + up, lp[:, :1], torch.ones(1, 1), torch.ones(1, 1), 0.2, 0.28)[0]), 4)
    -1.28
    """
    import torch

    clip_high = clip if clip_high is None else clip_high
    if not clip > 0 or not clip_high > 0:
        raise ValueError(f"clip and clip_high must be > 0, got {clip} and {clip_high}")
    mask = mask.to(logp_new.dtype)
    ratio = torch.exp(logp_new - logp_old)
    unclipped = ratio * advantages
    clipped = torch.clamp(ratio, 1.0 - clip, 1.0 + clip_high) * advantages
    per_token = -torch.minimum(unclipped, clipped)
    denom = mask.sum().clamp(min=1.0)
    outside = (ratio < 1.0 - clip) | (ratio > 1.0 + clip_high)
    clip_frac = (outside.to(mask.dtype) * mask).sum() / denom
    return (per_token * mask).sum() / denom, clip_frac


def kl_k3(logp_new, logp_ref, bound: float = KL_TOKEN_BOUND):
    """Per-token k3 estimator of KL(new || ref): ``exp(ref - new) - (ref - new) - 1`` (>= 0, unbiased),
    capped at ``bound`` per token as verl's ``low_var_kl`` does. Uncapped, one sampled token that the
    reference finds e^11 times likelier than the policy does weighs 10^5 (seen at iteration 36 of an
    RL run) and turns the whole step into a KL step.

    >>> import torch
    >>> lp = torch.log(torch.tensor([0.2, 0.7]))
    >>> kl_k3(lp, lp).tolist()
    [0.0, 0.0]
    >>> kl_k3(torch.tensor([-30.0]), torch.tensor([0.0])).tolist()
    [10.0]
    """
    import torch

    delta = torch.clamp(logp_ref - logp_new, -20.0, 20.0)
    return torch.clamp(delta.exp() - delta - 1.0, max=bound)


def policy_loss(logp_new, logp_old, logp_ref, advantages, mask, clip: float = 0.2, kl_coef: float = 0.0,
                clip_high: float | None = None) -> dict:
    """The combined loss ``ppo_clip + kl_coef * mean k3 KL`` over masked tokens, with its parts.

    >>> import torch
    >>> lp = torch.log(torch.tensor([[0.5, 0.25]]))
    >>> out = policy_loss(lp, lp, lp, torch.zeros(1, 2), torch.ones(1, 2), kl_coef=0.1)
    >>> float(out["loss"]), float(out["kl"])
    (0.0, 0.0)
    """
    pg, clip_frac = ppo_clip_loss(logp_new, logp_old, advantages, mask, clip, clip_high)
    m = mask.to(logp_new.dtype)
    kl = (kl_k3(logp_new, logp_ref) * m).sum() / m.sum().clamp(min=1.0)
    return {"loss": pg + kl_coef * kl, "pg_loss": pg, "kl": kl, "clip_fraction": clip_frac}


def token_logprobs(model, input_ids, attention_mask, temperature: float = 1.0):
    """Log-probability of each token given the ones before it: ``[B, T-1]`` for ``input_ids[:, 1:]``, under the
    policy sampled at ``temperature`` (logits / T), so that samples drawn at T are on-policy."""
    logits = model(input_ids=input_ids, attention_mask=attention_mask).logits[:, :-1].float() / temperature
    return logits.log_softmax(-1).gather(-1, input_ids[:, 1:].unsqueeze(-1)).squeeze(-1)
