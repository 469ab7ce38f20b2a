"""A likelihood PRM: the policy's own surprise at each step, calibrated on the factory's labels.

The tag PRM (``prm_trainer``) must learn to re-check each step from ~thousands of labels, and the
886k-parameter backbone does not manage it (step AUC ~0.75). Yet the policy that wrote the
steps already knows when a written value is wrong: it gave that token a low probability. So this
PRM reads, for step *k*, two features from one forward pass of a causal LM over
``prompt + steps``:

- ``step_min``: the lowest log-probability of any token of step *k*;
- ``running_min``: the lowest ``step_min`` over steps 1..k (a prefix is wrong once any step is).

and maps them to P(good) with a logistic regression fitted on the Monte Carlo labels (hard or
soft) of the training split. Only the three calibration numbers are learned; the LM is frozen.
The checkpoint is the LM's HF files plus ``prm_config.json`` with ``kind: "likelihood"`` and the
calibration, so ``prm_training.load.load_prm`` loads either kind.

>>> step_features([[-0.1, -2.0], [-0.3], [-0.5, -0.2]])
[(-2.0, -2.0), (-0.3, -2.0), (-0.5, -2.0)]
>>> round(calibrated([0.0, 0.0], 0.0, (-1.0, -1.0)), 2)
0.5
"""
from __future__ import annotations

import math
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from prm_training.prm_format import PRMConfig

KIND = "likelihood"
FEATURES = ("step_min", "running_min")
FLOOR = -30.0  # log-probabilities are clipped here so one -inf cannot dominate the fit


def step_features(step_token_logprobs: Sequence[Sequence[float]]) -> list[tuple[float, float]]:
    """``(step_min, running_min)`` per step from the log-probabilities of each step's tokens."""
    out, running = [], 0.0
    for logprobs in step_token_logprobs:
        step_min = max(FLOOR, min(logprobs)) if logprobs else 0.0
        running = min(running, step_min)
        out.append((step_min, running))
    return out


def calibrated(weights: Sequence[float], bias: float, features: Sequence[float]) -> float:
    """P(good) = sigmoid(bias + weights . features)."""
    z = bias + sum(w * f for w, f in zip(weights, features))
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))


def step_token_spans(tokenizer, prompt: str, steps: Sequence[str], delimiter: str = "\n",
                     add_special_tokens: bool = True) -> tuple[list[int], list[list[int]]]:
    """Token ids of the policy text (the rendered ``prompt``, then each step and its delimiter) and, per
    step, the indices of the tokens inside that step."""
    text = prompt
    char_spans = []
    for step in steps:
        char_spans.append((len(text), len(text) + len(step)))
        text += step + delimiter
    enc = tokenizer(text, return_offsets_mapping=True, add_special_tokens=add_special_tokens)
    offsets = enc["offset_mapping"]
    spans = [[i for i, (s, e) in enumerate(offsets) if e > s and s >= a and e <= b and i > 0] for a, b in char_spans]
    return list(enc["input_ids"]), spans


def likelihood_features(model, tokenizer, items: Sequence[tuple[str, list[str]]], batch_size: int = 32,
                        max_length: int = 512, prompter=None) -> list[list[tuple[float, float]]]:
    """Per ``(rendered prompt, steps)`` item, ``(step_min, running_min)`` for every step (one batched forward
    pass per chunk). ``prompter`` (default: plain) gives the step delimiter and the special-token rule."""
    import torch

    delimiter = prompter.delimiter if prompter is not None else "\n"
    special = prompter.add_special_tokens if prompter is not None else True
    encoded = [step_token_spans(tokenizer, prompt, steps, delimiter, special) for prompt, steps in items]
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    out: list[list[tuple[float, float]]] = []
    for start in range(0, len(encoded), batch_size):
        chunk = encoded[start:start + batch_size]
        width = min(max(len(ids) for ids, _ in chunk), max_length)
        input_ids = torch.full((len(chunk), width), pad, dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        for row, (ids, _) in enumerate(chunk):
            ids = ids[:width]
            input_ids[row, :len(ids)] = torch.tensor(ids)
            mask[row, :len(ids)] = 1
        with torch.no_grad():
            logits = model(input_ids=input_ids, attention_mask=mask).logits.float()
        logprobs = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, input_ids[:, 1:, None])[..., 0]
        for row, (_, spans) in enumerate(chunk):
            out.append(features_from_token_logprobs([0.0] + logprobs[row].tolist(), spans))
    return out


def features_from_token_logprobs(token_logprobs: Sequence[float], spans: Sequence[Sequence[int]]
                                 ) -> list[tuple[float, float]]:
    """``(step_min, running_min)`` per step, where ``token_logprobs[i]`` is log P(token i | the tokens before it)
    and ``spans`` are the token indices of each step (``step_token_spans``). Tokens past the end are left out.

    >>> features_from_token_logprobs([0.0, -0.1, -3.0, -0.2, -0.4], [[1, 2], [3, 4, 9]])
    [(-3.0, -3.0), (-0.4, -3.0)]
    """
    return step_features([[token_logprobs[i] for i in span if i < len(token_logprobs)] for span in spans])


def fit_logistic(features: Sequence[Sequence[float]], targets: Sequence[float], steps: int = 200,
                 l2: float = 1e-3) -> tuple[list[float], float]:
    """Weights and bias of a logistic regression (float targets: soft labels stay soft), by L-BFGS."""
    import torch

    x = torch.tensor(features, dtype=torch.float64)
    y = torch.tensor(targets, dtype=torch.float64)
    w = torch.zeros(x.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([w, b], max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(x @ w + b, y) + l2 * (w * w).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return [float(v) for v in w.detach()], float(b.detach())


class LikelihoodPRMScorer:
    """Scores steps with a frozen causal LM's token log-probabilities and a fitted calibration."""

    def __init__(self, model, tokenizer, config: PRMConfig, batch_size: int = 32):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.config = config
        self.batch_size = batch_size
        calibration = config.train.get("calibration", {})
        self.weights = list(calibration["weights"])
        self.bias = float(calibration["bias"])
        self.prompter = config.prompter(tokenizer)

    @classmethod
    def from_pretrained(cls, path: str | Path, batch_size: int = 32, threads: int | None = None,
                        config: PRMConfig | None = None) -> "LikelihoodPRMScorer":
        from prm_training.prm_model import load_causal_lm

        if threads:
            import torch

            torch.set_num_threads(threads)
        config = config or PRMConfig.load(path)
        model, tokenizer = load_causal_lm(path)
        return cls(model, tokenizer, config, batch_size=batch_size)

    def score(self, question: str, steps: Sequence[str]) -> list[float]:
        return self.score_batch([(question, list(steps))])[0]

    def score_batch(self, items: Sequence[Any]) -> list[list[float]]:
        from prm_training.scoring import as_item

        pairs = [(self.prompter.question_prompt(q), steps) for q, steps in map(as_item, items)]
        return self._score(pairs)

    def score_rows(self, rows: Sequence[dict]) -> list[list[float]]:
        """Scores for StepLabels rows (``prompt``, rendered as the policy saw it, + ``completions``)."""
        return self._score([(row["prompt"], list(row["completions"])) for row in rows])

    def _score(self, pairs: Sequence[tuple[str, list[str]]]) -> list[list[float]]:
        feats = likelihood_features(self.model, self.tokenizer, pairs, self.batch_size, self.config.max_length,
                                    self.prompter)
        return [[calibrated(self.weights, self.bias, f) for f in per_step] for per_step in feats]


def tag_tokens_if_any(tokenizer):
    """The step-tag tokens when the tokenizer has them as single tokens, else empty ones: a likelihood PRM
    reads no tag, and a real model's vocabulary need not hold Math-Shepherd's."""
    from prm_training.prm_format import PRMTokens, resolve_tokens

    try:
        return resolve_tokens(tokenizer)
    except ValueError:
        return PRMTokens("", -1, "", -1, "", -1)


def fit_likelihood_prm(labels: str | Path, out: str | Path, base_model: str = "", label_type: str = "hard",
                       val_fraction: float = 0.2, batch_size: int = 32, threads: int = 1) -> dict[str, Any]:
    """Fit the calibration on the training split of ``labels``; write an HF checkpoint + ``prm_config.json``."""
    import shutil

    import torch

    from data.assets import default_policy_path
    from labelers.metrics import roc_auc
    from data.provenance import portable_path, source_ref
    from prm_training.prm_data import (labels_fingerprint, labels_prompt_format, load_label_rows, split_rows,
                                       target_values, template_mismatch)
    from prm_training.prm_model import load_causal_lm

    if label_type not in ("hard", "soft"):
        raise ValueError(f"label_type must be 'hard' or 'soft', got {label_type!r}")
    start = time.time()
    torch.set_num_threads(threads)
    base = Path(base_model or default_policy_path()).resolve()
    model, tokenizer = load_causal_lm(base)
    rows = [r for r in load_label_rows(labels) if r["completions"]]
    prompt_format = labels_prompt_format(rows)
    prompter = PRMConfig(tokens=None, label_type=label_type, base_model="", prompt_format=prompt_format).prompter(
        tokenizer)
    warning = template_mismatch([r["prompt"] for r in rows], prompter)
    if warning:
        print(f"train-prm: warning: {warning}", file=sys.stderr)
    train_rows, val_rows = split_rows(rows, val_fraction)
    if not train_rows:
        raise ValueError(f"{labels}: no training rows after the split (val_fraction {val_fraction})")
    feats = likelihood_features(model, tokenizer, [(r["prompt"], list(r["completions"])) for r in train_rows],
                                batch_size, prompter=prompter)
    x = [f for per_trace in feats for f in per_trace]
    y = [t for r in train_rows for t in target_values(r, label_type)]
    weights, bias = fit_logistic(x, y)
    train_auc = roc_auc([calibrated(weights, bias, f) for f in x], [t >= 0.5 for t in y])
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for f in base.iterdir():
        if f.is_file() and f.name != "prm_config.json":
            shutil.copy2(f, out / f.name)
    run_id, sha = labels_fingerprint(labels)
    base_ref = source_ref(base, relative_to=out)
    config = PRMConfig(tokens=tag_tokens_if_any(tokenizer), label_type=label_type, base_model=base_ref["path"],
                       labels_dir=portable_path(labels, relative_to=out), labels_run_id=run_id,
                       labels_manifest_sha256=sha, val_fraction=val_fraction, kind=KIND, prompt_format=prompt_format,
                       train={"calibration": {"features": list(FEATURES), "weights": weights, "bias": bias},
                              "train_steps": len(x), "train_traces": len(train_rows),
                              "base_model_sha256": base_ref["sha256"]},
                       metrics={"train_step_auc_vs_labels": _round(train_auc)})
    config.save(out)
    return {"status": "finished", "out": str(out), "kind": KIND, "weights": weights, "bias": bias,
            "train_traces": len(train_rows), "val_traces": len(val_rows), "train_steps": len(x),
            "train_step_auc_vs_labels": _round(train_auc), "wall_s": round(time.time() - start, 1),
            **({"warning": warning} if warning else {})}


def _round(value: float | None) -> float | None:
    """An AUC rounded for the record; None (one class only) stays None."""
    return None if value is None else round(value, 4)
