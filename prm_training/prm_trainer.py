"""Train a tag PRM on StepLabels Parquet (``prm-factory train-prm --kind tag``).

One plain loop: AdamW, linear warm-up then linear decay, gradient clipping, a tqdm bar with
the running loss. After every epoch the trainer scores the validation problems and writes
``OUT/checkpoints/epoch-N/`` (weights, tokenizer, optimizer, ``state.json`` last). Running
the same command again resumes after the last complete epoch; an epoch cut short is redone
from its start, with the same batch order, so the result equals an uninterrupted run. The
final model is exported to ``OUT/`` as an HF checkpoint plus ``prm_config.json``.

On CPU, with a fixed seed and thread count, two runs give identical weights. ``device="cuda"``
trains on a GPU (not bit-for-bit deterministic there); a run resumes on either device.
"""
from __future__ import annotations

import json
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from prm_training.prm_data import LABEL_TYPES

CHECKPOINTS = "checkpoints"
STATE = "state.json"
# Changing one of these makes an existing OUT a different run (epochs may grow on resume).
IDENTITY_FIELDS = ("base_model", "label_type", "lr", "batch_size", "max_length", "seed", "val_fraction",
                   "warmup_fraction", "weight_decay", "grad_clip")


@dataclass
class PRMTrainConfig:
    base_model: str = ""  # HF causal-LM checkpoint; "" = the embedded tiny policy
    label_type: str = "hard"  # "hard": 0/1 MC labels; "soft": MC soft labels as float targets (docs/prm.md)
    epochs: int = 3
    lr: float = 1e-3
    batch_size: int = 16
    max_length: int = 512
    seed: int = 0
    val_fraction: float = 0.2  # of problems (hash split by problem_id)
    num_threads: int = 2
    warmup_fraction: float = 0.05
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    keep_checkpoints: int = 1  # epoch checkpoints kept under OUT/checkpoints (resume needs the last)
    stop_after_epochs: int = 0  # stop this invocation after N epochs, as if interrupted (0: run to the end)
    # "auto" (CUDA when torch sees a GPU), "cpu", "cuda" or "cuda:N"; not part of the run's identity
    device: str = "auto"

    def __post_init__(self):
        if self.label_type not in LABEL_TYPES:
            raise ValueError(f"label_type must be one of {LABEL_TYPES}, got {self.label_type!r}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError("val_fraction must be in [0, 1)")
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError("epochs and batch_size must be >= 1 and lr > 0")
        if self.device != "auto" and self.device.split(":")[0] not in ("cpu", "cuda"):
            raise ValueError(f"PRMTrainConfig.device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {self.device!r}")
        if not self.base_model:
            from data.assets import default_policy_path

            self.base_model = str(default_policy_path())

    def identity(self) -> dict[str, Any]:
        """What decides the weights: the base model by content hash, not by where it lies."""
        from data.provenance import source_ref

        d = asdict(self)
        d["base_model"] = source_ref(self.base_model)
        return {k: d[k] for k in IDENTITY_FIELDS}


def lr_at(step: int, total: int, cfg: PRMTrainConfig) -> float:
    """Linear warm-up over ``warmup_fraction`` of the steps, then linear decay to 0.

    >>> cfg = PRMTrainConfig(lr=1.0, base_model="x", warmup_fraction=0.1)
    >>> [round(lr_at(s, 10, cfg), 3) for s in (0, 1, 5, 9)]
    [1.0, 1.0, 0.556, 0.111]
    """
    warmup = max(1, round(cfg.warmup_fraction * total))
    if step < warmup:
        return cfg.lr * (step + 1) / warmup
    return cfg.lr * (total - step) / max(1, total - warmup)


def last_checkpoint(out: Path) -> Path | None:
    """The ``epoch-N`` directory with the highest N whose ``state.json`` was written (complete)."""
    root = out / CHECKPOINTS
    done = [p for p in root.glob("epoch-*") if (p / STATE).exists()] if root.is_dir() else []
    return max(done, key=lambda p: int(p.name.split("-")[1]), default=None)


def train_prm(labels: str | Path, out: str | Path, cfg: PRMTrainConfig | None = None,
              progress: bool = True) -> dict[str, Any]:
    """Train (or resume, or find finished) the PRM in ``out``; returns a summary dict."""
    import torch

    from prm_training.devices import resolve_device
    from prm_training.prm_data import (labels_fingerprint, labels_prompt_format, load_split_examples,
                                       template_mismatch)
    from prm_training.prm_format import PRMConfig, resolve_tokens
    from prm_training.prm_model import load_causal_lm

    cfg = cfg or PRMTrainConfig()
    device = resolve_device(cfg.device, "PRMTrainConfig.device")
    out = Path(out)
    torch.set_num_threads(cfg.num_threads)
    torch.manual_seed(cfg.seed)
    run_id, labels_sha = labels_fingerprint(labels)
    resume = last_checkpoint(out)
    state: dict[str, Any] = {"epoch": 0, "global_step": 0, "history": []}
    if resume is not None:
        state = json.loads((resume / STATE).read_text())
        if state["config"] != cfg.identity() or state["labels_manifest_sha256"] != labels_sha:
            raise ValueError(f"{out} holds a PRM run with other settings or labels; use a new --out "
                             f"(saved {state['config']}, labels {state['labels_manifest_sha256'][:12]})")
        if state["epoch"] >= cfg.epochs and (out / "prm_config.json").exists():
            return {**state.get("summary", {}), "status": "already finished"}

    model, tokenizer = load_causal_lm(resume if resume is not None else cfg.base_model)
    model.to(device)
    tokens = resolve_tokens(tokenizer)
    train_rows, val_rows, train, val = load_split_examples(labels, tokenizer, tokens, cfg.label_type, cfg.max_length,
                                                           cfg.val_fraction)
    prompt_format = labels_prompt_format(train_rows + val_rows)
    prompter = PRMConfig(tokens=tokens, label_type=cfg.label_type, base_model="",
                         prompt_format=prompt_format).prompter(tokenizer)
    warning = template_mismatch([r["prompt"] for r in train_rows + val_rows], prompter)
    if warning:
        print(f"train-prm: warning: {warning}", file=sys.stderr)
    start = time.time()
    state = run_epochs(model, tokenizer, tokens, train, val, val_rows, state, cfg, out, labels_sha, resume, progress)
    summary = {"out": str(out), "epochs_done": state["epoch"], "epochs": cfg.epochs,
               "global_step": state["global_step"], "train_examples": len(train), "val_examples": len(val),
               "device": device, "train_problems": len({r["problem_id"] for r in train_rows}),
               "val_problems": len({r["problem_id"] for r in val_rows}), "history": state["history"],
               "wall_s_this_run": round(time.time() - start, 1), **({"warning": warning} if warning else {})}
    if state["epoch"] < cfg.epochs:
        return {**summary, "status": "stopped early (rerun the same command to resume)"}
    prm_cfg = prm_config(cfg, tokens, labels, run_id, labels_sha, state, out)
    prm_cfg.prompt_format = prompt_format
    export_prm(model, tokenizer, prm_cfg, out)
    state["summary"] = summary
    (last_checkpoint(out) / STATE).write_text(json.dumps(state, indent=2))
    return {**summary, "status": "finished"}


def prm_config(cfg: PRMTrainConfig, tokens, labels, run_id, labels_sha: str, state: dict, out: Path):
    """The ``prm_config.json`` of a finished run, naming its sources portably (``data.provenance``)."""
    from data.provenance import portable_path
    from prm_training.prm_format import PRMConfig

    base = portable_path(cfg.base_model, relative_to=out)
    return PRMConfig(tokens=tokens, label_type=cfg.label_type, base_model=base,
                     labels_dir=portable_path(labels, relative_to=out), labels_run_id=run_id,
                     labels_manifest_sha256=labels_sha, val_fraction=cfg.val_fraction, max_length=cfg.max_length,
                     train={**asdict(cfg), "base_model": base, "base_model_sha256": cfg.identity()["base_model"]["sha256"]},
                     metrics=state["history"][-1] if state["history"] else {})


def run_epochs(model, tokenizer, tokens, train, val, val_rows, state: dict, cfg: PRMTrainConfig, out: Path,
               labels_sha: str, resume: Path | None, progress: bool) -> dict:
    """The epochs left to run, each ending with validation and a checkpoint; the final state."""
    import torch
    from tqdm import tqdm

    from prm_training.optim import adamw, optimizer_step, set_lr
    from prm_training.prm_data import batches, collate
    from prm_training.prm_model import pair_logits, soft_bce_loss

    steps_per_epoch = len(batches(train, cfg.batch_size, shuffle=False))
    total = steps_per_epoch * cfg.epochs
    optimizer = adamw(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    if resume is not None:
        optimizer.load_state_dict(torch.load(resume / "optimizer.pt", weights_only=True))
        print(f"train-prm: resuming from {resume} (epoch {state['epoch']} of {cfg.epochs})")
    pad_id = tokenizer.pad_token_id
    step = state["global_step"]
    model.train()
    for epochs_run, epoch in enumerate(range(state["epoch"], cfg.epochs)):
        if cfg.stop_after_epochs and epochs_run >= cfg.stop_after_epochs:
            break
        bar = tqdm(batches(train, cfg.batch_size, shuffle=True, seed=cfg.seed, epoch=epoch),
                   desc=f"train-prm epoch {epoch + 1}/{cfg.epochs}", disable=not progress)
        loss_sum = tags = 0.0
        for batch in bar:
            input_ids, attention, tag_mask, targets = collate(batch, pad_id)
            loss = soft_bce_loss(pair_logits(model, input_ids, attention, tag_mask, tokens), targets)
            set_lr(optimizer, lr_at(step, total, cfg))
            loss_sum += optimizer_step(optimizer, loss, cfg.grad_clip) * len(targets)
            step += 1
            tags += len(targets)
            bar.set_postfix(loss=f"{loss_sum / tags:.4f}")
        record = {"epoch": epoch + 1, "global_step": step, "train_loss": round(loss_sum / max(tags, 1), 6)}
        record.update(validate(model, val, val_rows, tokens, pad_id))
        state = {"epoch": epoch + 1, "global_step": step, "history": state["history"] + [record],
                 "config": cfg.identity(), "labels_manifest_sha256": labels_sha}
        _save_checkpoint(out, model, tokenizer, optimizer, state, cfg.keep_checkpoints)
        print(f"train-prm: {json.dumps(record)}")
    return state


def validate(model, val, val_rows, tokens, pad_id: int) -> dict[str, Any]:
    """Validation loss on the training targets, and step AUC / accuracy against the eval reference."""
    if not val:
        return {}
    import torch

    from prm_training.prm_eval import quality_report
    from prm_training.prm_model import score_examples

    scores = score_examples(model, val, tokens, pad_id)
    q = torch.tensor([s for row in scores for s in row]).clamp(1e-7, 1 - 1e-7)
    p = torch.tensor([t for e in val for t in e.targets])
    val_loss = -(p * q.log() + (1 - p) * (1 - q).log()).mean().item()
    metrics, _ = quality_report([val_rows[e.row_index] for e in val], scores)
    keys = ("reference", "step_auc", "step_accuracy", "step_balanced_accuracy", "first_error_f1", "ece")
    return {"val_loss": round(val_loss, 6), **{f"val_{k}": metrics[k] for k in keys}}


def _save_checkpoint(out: Path, model, tokenizer, optimizer, state: dict, keep: int) -> None:
    import torch

    path = out / CHECKPOINTS / f"epoch-{state['epoch']}"
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    model.save_pretrained(path, safe_serialization=True)
    tokenizer.save_pretrained(path)
    torch.save(optimizer.state_dict(), path / "optimizer.pt")
    tmp = path / f".{STATE}.tmp"
    tmp.write_text(json.dumps(state, indent=2))
    tmp.rename(path / STATE)  # written last: a checkpoint without state.json is incomplete
    done = sorted((p for p in (out / CHECKPOINTS).glob("epoch-*") if (p / STATE).exists()),
                  key=lambda p: int(p.name.split("-")[1]))
    for old in done[: max(0, len(done) - max(1, keep))]:
        shutil.rmtree(old)


def export_prm(model, tokenizer, prm_cfg, out: str | Path) -> Path:
    """Write a standard HF checkpoint (safetensors, tokenizer, config) plus ``prm_config.json`` to ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    prm_cfg.save(out)
    return out
