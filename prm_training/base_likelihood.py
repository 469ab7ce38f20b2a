"""The baseline every PRM must beat: the base LM's own surprise at each step, uncalibrated.

A PRM whose steps rank worse than the running minimum of its base LM's token log-probabilities
(the likelihood PRM's feature, before any fitting) has learned less than its base already knew;
``eval-prm`` reports this baseline beside the PRM's step AUC and warns when the PRM falls below it.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Sequence


def base_likelihood_auc(config, rows: Sequence[dict], reference: Sequence[Sequence[bool]],
                        prm_dir: str | Path | None = None, batch_size: int = 32) -> float | None:
    """Step AUC of the base LM's ``running_min`` on ``rows`` against ``reference``. The base is the checkpoint
    itself for a likelihood PRM, else the base model ``config`` names; None when that is not on this machine
    (a shared checkpoint names it portably)."""
    from data.provenance import resolve_portable
    from labelers.metrics import roc_auc
    from prm_training.likelihood_prm import likelihood_features
    from prm_training.prm_model import load_causal_lm

    if config.kind == "likelihood" and prm_dir is not None:
        base = Path(prm_dir)
    else:
        base = resolve_portable(config.base_model) if config.base_model else None
    if base is None or not (base / "config.json").exists():
        return None
    model, tokenizer = load_causal_lm(base)
    feats = likelihood_features(model, tokenizer, [(r["prompt"], list(r["completions"])) for r in rows], batch_size,
                                config.max_length, config.prompter(tokenizer))
    scores = [f[1] for per_row, ref in zip(feats, reference) for f in per_row[: len(ref)]]
    truth = [bool(t) for per_row, ref in zip(feats, reference) for t in ref[: len(per_row)]]
    return roc_auc(scores, truth)


def compare_with_base(metrics: dict[str, Any], config, rows: Sequence[dict],
                      prm_dir: str | Path | None = None) -> None:
    """Add ``base_lm_likelihood_auc`` to ``metrics`` and warn on stderr when the PRM ranks steps worse."""
    reference = [list(r["gold_labels"] if metrics["reference"] == "gold" else r["labels"]) for r in rows]
    auc = base_likelihood_auc(config, rows, reference, prm_dir)
    metrics["base_lm_likelihood_auc"] = None if auc is None else round(auc, 4)
    if auc is not None and metrics.get("step_auc") is not None and metrics["step_auc"] < auc:
        metrics["warning"] = (f"this PRM ranks steps worse (step AUC {metrics['step_auc']:.3f}) than its base LM's "
                              f"own token likelihood ({auc:.3f}); a likelihood PRM (train-prm --kind likelihood) "
                              "would do better")
        print(f"eval-prm: warning: {metrics['warning']}", file=sys.stderr)
