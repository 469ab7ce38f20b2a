"""The circuit tag PRM: a Math-Shepherd tag PRM whose top layers are built, not searched for.

A tag PRM fine-tuned on step labels does not learn to check a step's arithmetic (docs/prm.md,
"Deeper tag PRM": paired AUC 0.51). The policy that wrote the step already knows when a written digit
is wrong: it gave that digit a low probability (the likelihood PRM reads this, step AUC 0.948). This
module writes that computation into five decoder layers on top of the frozen policy, so the result is
a plain ``LlamaForCausalLM`` whose score at each step tag is ``softmax([logit(+), logit(-)])[0]``,
exactly what ``PRMScorer`` and vLLM's pooling runner compute for any tag PRM.

Layers (``L`` = the policy's depth; residual axes of least variance carry the new features):

- ``L``: MLP (fitted): the policy's log-probabilities of the ten digits at every position, clipped at
  ``-y_clip``, from the exactly normalised state (the final norm's weights).
- ``L+1``: MLP (exact): a constant on one axis. An RMS-normalised vector has ``sum(n_i^2) = d``, and
  ``silu(x) x + silu(-x)(-x) = x^2``, so ``2d`` units give a constant. It gives later layers biases.
- ``L+2``: attention head (exact): with constant query and key, RoPE makes the score depend on the
  distance only; a linear program picks the frequencies that peak at distance 1, so position ``t``
  copies the digit log-probabilities of ``t - 1``. MLP (fitted): ten scores ``I_d(h_t)``, "token ``t``
  is the solution digit ``d``", from the policy's state.
- ``L+3``: MLP (exact): ``g_t = sum_d [I_d > threshold] * copied_d``, the written digit's
  log-probability (0 off solution digits); the threshold removes small leaks of other digits' scores.
  (``sharp_identity=False`` gathers with the raw scores inside ``L+2``'s MLP: four layers.)
- ``L+4``: attention head (exact): ``softmax(-beta g)``-weighted mean of ``g`` over the prefix, a soft
  running minimum, which the ``+`` row of the LM head reads with a logistic calibration fitted on
  the training split's labels (hard or soft, as the likelihood PRM does).

Nothing of the circuit is fitted on step labels except that calibration (two numbers); the fits use
the policy's own outputs on the training traces. Features reach 1e6 on the constant axis, so the
checkpoint must run in float32 (``prm_config.json`` says so; the vLLM scorer obeys).
"""
from __future__ import annotations

import json
import math
import shutil
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

CIRCUIT_LAYERS = 4
CONSTANT = 1.0e6  # value written on the constant axis
FEATURE_SCALE = 1000.0  # features are stored x this, far above the policy's own values on those axes


@dataclass
class CircuitPRMConfig:
    base_model: str = ""  # "" = the embedded tiny policy
    label_type: str = "hard"
    val_fraction: float = 0.2
    max_length: int = 512
    seed: int = 0
    num_threads: int = 2
    y_clip: float = 4.0  # digit log-probabilities are clipped here (bounds what a misread digit costs)
    fit_steps: int = 3000  # Adam steps of the digit log-probability MLP
    digit_weight: float = 5.0  # its loss weight at positions that predict a solution digit (others: 1)
    likely_weight: float = 9.0  # and per digit, 1 + this x the digit's probability
    identity_steps: int = 12000  # Adam steps of the digit identity classifier
    identity_gather_weight: float = 0.0  # weight of the (unsharpened) gather error next to the identity error
    # a fifth layer thresholds the identity scores before the gather (a digit counts only when its
    # score passes identity_threshold), so small leaks of other digits' log-probabilities vanish
    sharp_identity: bool = True
    identity_threshold: float = 0.35
    softmin_beta: float = 6.0
    gap_nats: float = 25.0  # attention score margin of distance 1 over every other distance

    def __post_init__(self):
        from prm_training.prm_data import LABEL_TYPES

        if self.label_type not in LABEL_TYPES:
            raise ValueError(f"CircuitPRMConfig.label_type must be one of {LABEL_TYPES}, got {self.label_type!r}")
        if self.y_clip <= 0 or self.fit_steps < 1 or self.identity_steps < 1 or self.softmin_beta <= 0:
            raise ValueError("CircuitPRMConfig: y_clip, softmin_beta > 0 and fit_steps, identity_steps >= 1")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError("CircuitPRMConfig.val_fraction must be in [0, 1)")
        if not self.base_model:
            from data.assets import default_policy_path

            self.base_model = str(default_policy_path())


def distance_one_rope(head_dim: int, rope_theta: float, max_len: int, gap_nats: float):
    """Query and key vectors (for constant inputs) whose RoPE attention score peaks at distance 1.

    Pair ``i`` of the head rotates by ``theta_i`` per position; with query ``a_i`` and key
    ``a_i e^{j theta_i}`` the score at distance ``D`` is ``sum_i a_i^2 cos((D - 1) theta_i)``. The
    weights ``a_i^2`` maximise the gap between ``D = 1`` and every other ``D < max_len`` (a linear
    program), scaled so that gap is ``gap_nats`` after the attention's ``1/sqrt(head_dim)``.
    Returns ``(q, k, peak_score)``.

    >>> q, k, peak = distance_one_rope(8, 10000.0, 64, 20.0)
    >>> import numpy as np; th = 10000.0 ** (-np.arange(4) / 4)
    >>> s = [float((q[:4] * (k[:4] * np.cos(th * D) + k[4:] * np.sin(th * D))).sum()) / np.sqrt(8) for D in range(64)]
    >>> int(np.argmax(s)), bool(s[1] - max(s[:1] + s[2:]) >= 19.99)
    (1, True)
    """
    import numpy as np
    import torch
    from scipy.optimize import linprog

    half = head_dim // 2
    theta = rope_theta ** (-np.arange(half) * 2.0 / head_dim)
    dist = np.array([x for x in range(max_len) if x != 1])
    cos = np.cos(np.outer(dist - 1, theta))
    objective = np.zeros(half + 1)
    objective[-1] = -1.0
    res = linprog(objective, A_ub=np.hstack([-(1 - cos), np.ones((len(dist), 1))]), b_ub=np.zeros(len(dist)),
                  A_eq=np.array([[1.0] * half + [0.0]]), b_eq=[1.0], bounds=[(0, None)] * half + [(None, None)])
    if not res.success or res.x[-1] <= 0:
        raise ValueError(f"no RoPE query/key peaks at distance 1 for head_dim {head_dim}, theta {rope_theta}")
    weights, gap = res.x[:half], res.x[-1]
    peak = gap_nats / gap
    a = np.sqrt(weights * peak * math.sqrt(head_dim))
    q, k = np.zeros(head_dim), np.zeros(head_dim)
    q[:half] = a
    k[:half], k[half:] = a * np.cos(theta), a * np.sin(theta)
    return torch.tensor(q, dtype=torch.float32), torch.tensor(k, dtype=torch.float32), float(peak)


def residuals(model, examples, pad_id: int, layer_index: int, before_mlp: bool = False) -> list:
    """Per example, the residual stream after decoder layer ``layer_index`` (or at its MLP input)."""
    import torch

    from prm_training.prm_data import collate

    store: dict[str, Any] = {}
    layer = model.get_decoder().layers[layer_index]
    if before_mlp:
        hook = layer.post_attention_layernorm.register_forward_hook(lambda m, i, o: store.__setitem__("h", i[0]))
    else:
        hook = layer.register_forward_hook(lambda m, i, o: store.__setitem__("h", o[0] if isinstance(o, tuple) else o))
    out = []
    try:
        with torch.no_grad():
            for k in range(0, len(examples), 32):
                chunk = examples[k:k + 32]
                ids, attention, _, _ = collate(chunk, pad_id)
                model(input_ids=ids, attention_mask=attention)
                out += [store["h"][i, :len(e.input_ids)].clone() for i, e in enumerate(chunk)]
    finally:
        hook.remove()
    return out


def _adam(params, loss_fn, steps: int, n: int, seed: int, desc: str, progress: bool, lr: float = 3e-3,
          batch: int = 8192):
    """Minimise ``loss_fn(batch_indices)`` over random batches of ``range(n)``, learning rate decaying to 0."""
    import torch
    from tqdm import tqdm

    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(params, lr=lr)
    bar = tqdm(range(steps), desc=desc, disable=not progress, mininterval=1.0)
    for step in bar:
        loss = loss_fn(torch.randint(0, n, (min(batch, n),), generator=gen))
        opt.zero_grad()
        loss.backward()
        opt.step()
        for group in opt.param_groups:
            group["lr"] = lr * (1 - step / steps)
        if step % 100 == 0:
            bar.set_postfix(loss=f"{loss.item():.4f}")


def build_circuit(model, examples, prompt_lens: list[int], digit_ids: list[int], cfg: CircuitPRMConfig,
                  log=print, progress: bool = True) -> dict[str, Any]:
    """Append the circuit layers to ``model`` (in place), fitted on ``examples`` (tokenized PRM
    inputs in the native tag format; ``prompt_lens[i]`` = where example ``i``'s solution starts).
    Returns the axes used and the number of layers added; the soft minimum is on ``axes["softmin"]``
    scaled by ``FEATURE_SCALE``."""
    import torch
    from torch.nn.functional import silu

    from prm_training.prm_model import add_extra_layers

    g = torch.Generator().manual_seed(cfg.seed)
    config = model.config
    n_base, d, head_dim = config.num_hidden_layers, config.hidden_size, config.head_dim
    hidden = config.intermediate_size
    if hidden < 2 * d:
        raise ValueError(f"the circuit needs intermediate_size >= 2 * hidden_size, got {hidden} < {2 * d}")
    pad_id = config.pad_token_id if config.pad_token_id is not None else 0
    base_out = torch.cat(residuals(model, examples, pad_id, n_base - 1))
    order = torch.argsort(base_out.var(0)).tolist()
    ax_const, ax_y, ax_copy, ax_g, ax_min = order[0], order[1:11], order[11:21], order[21], order[22]
    ax_id = order[23:33] if cfg.sharp_identity else []
    add_extra_layers(model, CIRCUIT_LAYERS + int(cfg.sharp_identity), "random")
    new_layers = list(model.get_decoder().layers[n_base:])
    fit_layer, const_layer, copy_layer, min_layer = new_layers[0], new_layers[1], new_layers[2], new_layers[-1]
    with torch.no_grad():
        for layer in new_layers:
            for module in layer.modules():
                if isinstance(module, torch.nn.Linear):
                    module.weight.zero_()
            layer.input_layernorm.weight.fill_(1.0)
            layer.post_attention_layernorm.weight.fill_(1.0)
    final_w = model.get_decoder().norm.weight.detach().clone()
    digit_rows = model.get_output_embeddings().weight.detach()[digit_ids]
    eps = config.rms_norm_eps

    def rms_normed(x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)

    ids = torch.cat([torch.tensor(e.input_ids) for e in examples])
    is_digit = torch.zeros(len(ids), dtype=torch.bool)
    offset = 0
    for e, start in zip(examples, prompt_lens):
        for t in range(max(start, 1), len(e.input_ids)):
            is_digit[offset + t] = e.input_ids[t] in digit_ids
        offset += len(e.input_ids)
    digit_pos = is_digit.nonzero()[:, 0]
    if len(digit_pos) == 0:
        raise ValueError("build_circuit: no digit in any training solution (is the tokenizer's digit set right?)")
    which = torch.tensor([digit_ids.index(i) for i in ids[digit_pos].tolist()])

    # L: digit log-probabilities at every position (the function is the same everywhere; the positions
    # that predict a solution digit weigh more)
    u_all = rms_normed(base_out) * final_w
    y_all = (u_all @ digit_rows.T).log_softmax(-1).clamp(min=-cfg.y_clip)
    predicts_digit = torch.zeros(len(u_all), dtype=torch.bool)
    predicts_digit[digit_pos - 1] = True
    w_all = 1.0 + (cfg.digit_weight - 1.0) * predicts_digit.float()
    gate = (torch.randn(hidden, d, generator=g) / math.sqrt(d)).requires_grad_()
    up = (torch.randn(hidden, d, generator=g) / math.sqrt(d)).requires_grad_()
    down = torch.zeros(10, hidden, requires_grad=True)

    def fit_loss(b):
        pred = (silu(u_all[b] @ gate.T) * (u_all[b] @ up.T)) @ down.T
        weight = w_all[b, None] * (1.0 + cfg.likely_weight * y_all[b].exp())  # near-zero entries matter most
        return (weight * (pred - y_all[b]).pow(2)).sum() / weight.sum()

    _adam([gate, up, down], fit_loss, cfg.fit_steps, len(u_all), cfg.seed, "circuit: digit log-prob MLP", progress)
    u, y = u_all[digit_pos - 1], y_all[digit_pos - 1]
    with torch.no_grad():
        err = ((silu(u @ gate.T) * (u @ up.T)) @ down.T - y).abs().mean().item()
        fit_layer.post_attention_layernorm.weight.copy_(final_w)
        fit_layer.mlp.gate_proj.weight.copy_(gate)
        fit_layer.mlp.up_proj.weight.copy_(up)
        fit_layer.mlp.down_proj.weight[ax_y] = FEATURE_SCALE * down
    log(f"circuit: digit log-probability MLP fitted (mean abs error {err:.3f})")

    # L+1: the constant
    with torch.no_grad():
        eye = torch.eye(d)
        mlp = const_layer.mlp
        mlp.gate_proj.weight[:d], mlp.up_proj.weight[:d] = eye, eye
        mlp.gate_proj.weight[d:2 * d], mlp.up_proj.weight[d:2 * d] = -eye, -eye
        mlp.down_proj.weight[ax_const, :2 * d] = CONSTANT / d
    rho = CONSTANT / math.sqrt(d)  # the residual's RMS from here on (the constant dominates it)

    # L+2 attention: copy the previous position's digit log-probabilities
    rope_theta = (getattr(config, "rope_parameters", None) or {}).get("rope_theta", getattr(config, "rope_theta", 1e4))
    q, k, _ = distance_one_rope(head_dim, rope_theta, config.max_position_embeddings, cfg.gap_nats)
    attn = copy_layer.self_attn
    with torch.no_grad():
        attn.q_proj.weight[:head_dim, ax_const] = q / math.sqrt(d)
        attn.k_proj.weight[:head_dim, ax_const] = k / math.sqrt(d)
        for j in range(10):
            attn.v_proj.weight[j, ax_y[j]] = rho / FEATURE_SCALE
            attn.o_proj.weight[ax_copy[j], j] = FEATURE_SCALE
    mid = torch.cat(residuals(model, examples, pad_id, n_base + 2, before_mlp=True))
    copied = mid[:, ax_copy] / FEATURE_SCALE
    target = torch.zeros(len(mid))
    target[digit_pos] = y.gather(1, which[:, None])[:, 0]
    log(f"circuit: previous-position copy error {(copied[digit_pos, which] - target[digit_pos]).abs().mean():.3f}")

    # L+2 MLP: g = sum_d I_d(h) * copied_d, I_d a shared-hidden-layer classifier of the token's digit
    special = {ax_const, *ax_y, *ax_copy, ax_g, ax_min, *ax_id}
    keep = [a for a in range(d) if a not in special]
    raw = mid[:, keep]
    mean, std = raw.mean(0), raw.std(0).clamp(min=1e-6)
    z = torch.cat([(raw - mean) / std, torch.ones(len(raw), 1)], 1)
    onehot = torch.zeros(len(z), 10)
    onehot[digit_pos, which] = 1.0
    w_in = (torch.randn(hidden, z.shape[1], generator=g) / math.sqrt(z.shape[1])).requires_grad_()
    w_out = torch.zeros(hidden, 10, requires_grad=True)

    def identity_loss(b):
        out = silu(z[b] @ w_in.T) @ w_out
        gathered = (out * copied[b]).sum(1)
        return (out - onehot[b]).pow(2).sum(1).mean() + cfg.identity_gather_weight * (gathered - target[b]).pow(2).mean()

    _adam([w_in, w_out], identity_loss, cfg.identity_steps, len(z), cfg.seed + 1, "circuit: digit identity",
          progress)
    w_in, w_out = w_in.detach(), w_out.detach()
    with torch.no_grad():
        gathered = ((silu(z @ w_in.T) @ w_out) * copied).sum(1)
        a_keep = w_in[:, :-1] / std
        mlp = copy_layer.mlp
        mlp.gate_proj.weight[:, keep] = a_keep * rho
        mlp.gate_proj.weight[:, ax_const] = (w_in[:, -1] - (a_keep * mean).sum(1)) / math.sqrt(d)
        if cfg.sharp_identity:  # write the ten identity scores; the next layer thresholds and gathers
            mlp.up_proj.weight[:, ax_const] = 1.0 / math.sqrt(d)
            for j in range(10):
                mlp.down_proj.weight[ax_id[j], :] = FEATURE_SCALE * w_out[:, j]
            sharp = new_layers[3].mlp
            alpha, delta = 40.0, 10.0
            for j in range(10):
                for unit, shift in ((2 * j, 0.0), (2 * j + 1, -delta)):
                    sharp.gate_proj.weight[unit, ax_id[j]] = alpha * rho / FEATURE_SCALE
                    sharp.gate_proj.weight[unit, ax_const] = (shift - alpha * cfg.identity_threshold) / math.sqrt(d)
                    sharp.up_proj.weight[unit, ax_copy[j]] = rho / FEATURE_SCALE
                sharp.down_proj.weight[ax_g, 2 * j] = FEATURE_SCALE / delta
                sharp.down_proj.weight[ax_g, 2 * j + 1] = -FEATURE_SCALE / delta
        else:
            for j in range(10):
                mlp.up_proj.weight[:, ax_copy[j]] = w_out[:, j] * rho / FEATURE_SCALE
            mlp.down_proj.weight[ax_g, :] = FEATURE_SCALE
    log(f"circuit: digit gather error {(gathered[digit_pos] - target[digit_pos]).abs().mean():.3f} at solution digits, "
        f"{gathered[~is_digit].abs().mean():.3f} elsewhere")

    # last layer's attention: soft running minimum of g (lowest-frequency RoPE pair: ~no rotation)
    half = head_dim // 2
    attn = min_layer.self_attn
    with torch.no_grad():
        attn.q_proj.weight[half - 1, ax_const] = cfg.softmin_beta * math.sqrt(head_dim) / math.sqrt(d)
        attn.k_proj.weight[half - 1, ax_g] = -rho / FEATURE_SCALE
        attn.v_proj.weight[0, ax_g] = rho / FEATURE_SCALE
        attn.o_proj.weight[ax_min, 0] = FEATURE_SCALE
    return {"constant": ax_const, "softmin": ax_min, "rho": rho, "digit_fit_error": round(err, 4),
            "layers": len(new_layers)}


def set_readout(model, tokens, axes: dict[str, Any], weight: float, bias: float) -> None:
    """``logit(+) - logit(-) = weight * softmin + bias`` at every position."""
    import torch

    d = model.config.hidden_size
    head = model.get_output_embeddings().weight
    with torch.no_grad():
        model.get_decoder().norm.weight.fill_(1.0)
        head[tokens.good_token_id].zero_()
        head[tokens.bad_token_id].zero_()
        head[tokens.good_token_id, axes["softmin"]] = weight * axes["rho"] / FEATURE_SCALE
        head[tokens.good_token_id, axes["constant"]] = bias / math.sqrt(d)


def train_circuit_prm(labels: str | Path, out: str | Path, cfg: CircuitPRMConfig | None = None,
                      progress: bool = True) -> dict[str, Any]:
    """Build the circuit tag PRM from the policy, calibrate it on ``labels``' training split, export to ``out``."""
    import torch

    from data.prompt_format import build_prompt
    from prm_training.likelihood_prm import fit_logistic
    from prm_training.prm_data import load_split_examples
    from prm_training.prm_format import (TAG_FORMATS, PRMConfig, labels_fingerprint, resolve_tokens,
                                         single_token_id)
    from prm_training.prm_model import init_tag_embedding, load_causal_lm
    from prm_training.prm_trainer import export_prm, validate

    cfg = cfg or CircuitPRMConfig()
    start = time.time()
    torch.set_num_threads(cfg.num_threads)
    torch.manual_seed(cfg.seed)

    def log(message: str) -> None:
        if progress:
            print(f"[{time.time() - start:6.1f}s] {message}", flush=True)

    run_id, labels_sha = labels_fingerprint(labels)
    out = Path(out)
    if (out / "prm_config.json").exists():
        done = PRMConfig.load(out)
        if done.train.get("circuit") == asdict(cfg) and done.labels_manifest_sha256 == labels_sha:
            return {"status": "already finished", "out": str(out), "train_examples": None, "val_examples": None,
                    "calibration": done.train.get("calibration"), "validation": done.metrics, "wall_s": 0.0}
        raise ValueError(f"{out} holds another PRM (other settings or labels); use a new --out")
    if out.exists() and any(out.iterdir()):
        raise ValueError(f"{out} is not empty and holds no PRM; use a new --out")
    model, tokenizer = load_causal_lm(cfg.base_model)
    model.eval()
    prefix, separator = TAG_FORMATS["native"]
    tokens = replace(resolve_tokens(tokenizer), tag_prefix=prefix, step_separator=separator)
    init_tag_embedding(model, tokens.step_tag_id, single_token_id(tokenizer, "\n"))
    digit_ids = [single_token_id(tokenizer, str(i)) for i in range(10)]
    train_rows, val_rows, train, val = load_split_examples(labels, tokenizer, tokens, cfg.label_type, cfg.max_length,
                                                           cfg.val_fraction)
    prompt_lens = [len(tokenizer(build_prompt(train_rows[e.row_index]["prompt"]))["input_ids"]) for e in train]
    log(f"circuit: {len(train)} training traces, {len(val)} validation traces")
    axes = build_circuit(model, train, prompt_lens, digit_ids, cfg, log, progress)
    final = residuals(model, train, tokenizer.pad_token_id, model.config.num_hidden_layers - 1)
    features = [[(h[p, axes["softmin"]] / FEATURE_SCALE).item()] for h, e in zip(final, train) for p in e.tag_positions]
    (weight,), bias = fit_logistic(features, [t for e in train for t in e.targets])
    set_readout(model, tokens, axes, weight, bias)
    log(f"circuit: calibration P(good) = sigmoid({weight:.3f} * softmin + {bias:.3f})")
    metrics = validate(model, val, val_rows, tokens, tokenizer.pad_token_id) if val else {}
    if metrics:
        log(f"circuit: validation {json.dumps(metrics)}")
    prm_cfg = PRMConfig(tokens=tokens, label_type=cfg.label_type, base_model=str(Path(cfg.base_model).resolve()),
                        labels_dir=str(Path(labels).resolve()), labels_run_id=run_id,
                        labels_manifest_sha256=labels_sha, val_fraction=cfg.val_fraction,
                        max_length=cfg.max_length, train={"circuit": asdict(cfg), "calibration": [weight, bias]},
                        metrics=metrics, dtype="float32")
    partial = out.with_name(out.name + ".partial")  # a killed export leaves no half-written checkpoint in out
    shutil.rmtree(partial, ignore_errors=True)
    export_prm(model, tokenizer, prm_cfg, partial)
    if out.exists():
        out.rmdir()  # empty (checked above)
    partial.rename(out)
    wall = round(time.time() - start, 1)
    log(f"circuit: exported to {out} in {wall} s")
    return {"status": "finished", "out": str(out), "train_examples": len(train), "val_examples": len(val),
            "calibration": [weight, bias], "axes": axes, "validation": metrics, "wall_s": wall}
