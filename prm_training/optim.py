"""The one optimizer step every trainer takes: PRM training, policy SFT, RFT and RL.

``optimizer_step`` zeroes the gradients, back-propagates ``loss``, clips the global gradient norm
and steps; ``set_lr`` applies a schedule's value to every parameter group (times the group's
``lr_scale`` when it has one). Keeping this in one place keeps the trainers' numerics identical.
"""
from __future__ import annotations

from typing import Iterable


def adamw(parameters: Iterable, lr: float, weight_decay: float = 0.0, betas: tuple[float, float] = (0.9, 0.999)):
    """``torch.optim.AdamW`` over the parameters that require a gradient."""
    import torch

    return torch.optim.AdamW([p for p in parameters if p.requires_grad], lr=lr, betas=betas, weight_decay=weight_decay)


def set_lr(optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr * group.get("lr_scale", 1.0)


def optimizer_step(optimizer, loss, grad_clip: float = 1.0) -> float:
    """One update from ``loss``; returns the loss as a float."""
    import torch

    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip:
        params = [p for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        torch.nn.utils.clip_grad_norm_(params, grad_clip)
    optimizer.step()
    return float(loss.detach())
