"""PRM quality on labelled traces: step AUC/accuracy, ProcessBench-style first error, calibration
(ProcessBench-format files of human-annotated solutions: ``processbench_eval``).

The reference is the gold step labels when every evaluated trace has them (the synthetic
task), else the hard Monte Carlo labels. The metric functions are pure Python:

>>> m = step_metrics([[0.9, 0.2], [0.8]], [[True, False], [True]])
>>> m["step_auc"], m["step_accuracy"]
(1.0, 1.0)
>>> f = first_error_metrics([[0.9, 0.2], [0.8, 0.7]], [[True, False], [True, True]])
>>> f["first_error_acc_erroneous"], f["first_error_acc_correct"], f["first_error_f1"]
(1.0, 1.0, 1.0)
>>> predicted_first_error([0.9, 0.4, 0.8])
1
>>> predicted_first_error([0.9, 0.6]) is None
True
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Sequence

from labelers.metrics import balanced_accuracy, first_error_index, roc_auc

THRESHOLD = 0.5
PLOT_NAME = "prm_eval.png"


def _r(x: float | None) -> float | None:
    return None if x is None else round(float(x), 4)


def predicted_first_error(scores: Sequence[float], threshold: float = THRESHOLD) -> int | None:
    """The first step scored below ``threshold`` (None: the PRM calls every step correct)."""
    return next((i for i, s in enumerate(scores) if s < threshold), None)


def step_metrics(scores: Sequence[Sequence[float]], reference: Sequence[Sequence[bool]],
                 threshold: float = THRESHOLD) -> dict[str, Any]:
    flat_s = [s for row in scores for s in row]
    flat_t = [bool(t) for row in reference for t in row]
    pred = [s >= threshold for s in flat_s]
    n = len(flat_t)
    return {
        "n_steps": n,
        "n_positive_steps": sum(flat_t),
        "step_auc": _r(roc_auc(flat_s, flat_t)),
        "step_accuracy": _r(sum(p == t for p, t in zip(pred, flat_t)) / n) if n else None,
        "step_balanced_accuracy": _r(balanced_accuracy(pred, flat_t)),
    }


def first_error_metrics(scores: Sequence[Sequence[float]], reference: Sequence[Sequence[bool]],
                        threshold: float = THRESHOLD) -> dict[str, Any]:
    """ProcessBench: accuracy of the predicted first error on erroneous traces, of "no error" on correct ones, F1."""
    err_hits = err_n = ok_hits = ok_n = 0
    for s, ref in zip(scores, reference):
        truth = first_error_index(ref)
        pred = predicted_first_error(s, threshold)
        if truth is None:
            ok_n += 1
            ok_hits += pred is None
        else:
            err_n += 1
            err_hits += pred == truth
    acc_err = err_hits / err_n if err_n else None
    acc_ok = ok_hits / ok_n if ok_n else None
    f1 = None
    if acc_err is not None and acc_ok is not None:
        f1 = 2 * acc_err * acc_ok / (acc_err + acc_ok) if acc_err + acc_ok > 0 else 0.0
    return {"erroneous_traces": err_n, "correct_traces": ok_n, "first_error_acc_erroneous": _r(acc_err),
            "first_error_acc_correct": _r(acc_ok), "first_error_f1": _r(f1)}


def calibration(scores: Sequence[float], truth: Sequence[bool], n_bins: int = 10) -> dict[str, Any]:
    """Equal-width bins of the score: count, mean score, fraction of positive steps; and the ECE."""
    bins = [{"lo": k / n_bins, "hi": (k + 1) / n_bins, "count": 0, "sum_score": 0.0, "positives": 0}
            for k in range(n_bins)]
    for s, t in zip(scores, truth):
        b = bins[min(int(s * n_bins), n_bins - 1)]
        b["count"] += 1
        b["sum_score"] += s
        b["positives"] += bool(t)
    n = max(1, len(scores))
    ece = 0.0
    out = []
    for b in bins:
        mean = b["sum_score"] / b["count"] if b["count"] else None
        frac = b["positives"] / b["count"] if b["count"] else None
        if b["count"]:
            ece += b["count"] / n * abs(mean - frac)
        out.append({"lo": round(b["lo"], 3), "hi": round(b["hi"], 3), "count": b["count"],
                    "mean_score": _r(mean), "fraction_positive": _r(frac)})
    return {"bins": out, "ece": _r(ece)}


def roc_curve(scores: Sequence[float], truth: Sequence[bool]) -> tuple[list[float], list[float]]:
    """False and true positive rates as the threshold sweeps down through the distinct scores."""
    pos = sum(bool(t) for t in truth)
    neg = len(truth) - pos
    if not pos or not neg:
        return [0.0, 1.0], [0.0, 1.0]
    pairs = sorted(zip(scores, truth), key=lambda x: -x[0])
    fpr, tpr = [0.0], [0.0]
    tp = fp = 0
    for i, (s, t) in enumerate(pairs):
        tp += bool(t)
        fp += not t
        if i + 1 == len(pairs) or pairs[i + 1][0] != s:
            fpr.append(fp / neg)
            tpr.append(tp / pos)
    return fpr, tpr


def reference_of(rows: Sequence[dict]) -> str:
    """``"gold"`` when every row has gold step labels of the right length, else ``"mc"``."""
    ok = rows and all(r.get("gold_labels") is not None and len(r["gold_labels"]) == len(r["labels"]) for r in rows)
    return "gold" if ok else "mc"


def quality_report(rows: Sequence[dict], scores: Sequence[Sequence[float]],
                   threshold: float = THRESHOLD) -> tuple[dict[str, Any], dict[str, Any]]:
    """All metrics of ``scores`` (one list per row, possibly cut short by truncation) and the curve data."""
    reference = reference_of(rows)
    ref = [list(r["gold_labels"] if reference == "gold" else r["labels"])[: len(s)] for r, s in zip(rows, scores)]
    flat_s = [x for s in scores for x in s]
    flat_t = [bool(x) for r in ref for x in r]
    metrics: dict[str, Any] = {"reference": reference, "threshold": threshold, "n_traces": len(rows),
                               "truncated_steps": sum(len(r["labels"]) - len(s) for r, s in zip(rows, scores))}
    metrics.update(step_metrics(scores, ref, threshold))
    metrics.update(first_error_metrics(scores, ref, threshold))
    cal = calibration(flat_s, flat_t)
    metrics["ece"] = cal["ece"]
    metrics["calibration"] = cal["bins"]
    if reference == "gold":
        # The Monte Carlo labels the PRM learned from, judged the same way: the PRM's ceiling-ish baseline.
        # AUC of the soft labels; accuracy and first error of the hard labels (as labelers.metrics does).
        soft = [list(r["soft_labels"])[: len(s)] for r, s in zip(rows, scores)]
        hard = [[1.0 if x else 0.0 for x in r["labels"]][: len(s)] for r, s in zip(rows, scores)]
        by_hard = step_metrics(hard, ref, threshold)
        metrics["mc_labels_vs_gold"] = {
            "soft_auc": step_metrics(soft, ref, threshold)["step_auc"],
            "hard_accuracy": by_hard["step_accuracy"],
            "hard_balanced_accuracy": by_hard["step_balanced_accuracy"],
            "first_error_f1": first_error_metrics(hard, ref, threshold)["first_error_f1"],
        }
    fpr, tpr = roc_curve(flat_s, flat_t)
    return metrics, {"fpr": fpr, "tpr": tpr}


def plot_eval(metrics: dict[str, Any], curve: dict[str, Any], path: str | Path) -> Path:
    """ROC curve and reliability diagram side by side, as a PNG (matplotlib Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4.5))
    ax1.plot(curve["fpr"], curve["tpr"], label=f"PRM (AUC {metrics['step_auc']})")
    ax1.plot([0, 1], [0, 1], "k:", linewidth=1)
    ax1.set(xlabel="false positive rate", ylabel="true positive rate",
            title=f"step ROC vs {metrics['reference']} labels")
    ax1.legend(loc="lower right")
    bins = [b for b in metrics["calibration"] if b["count"]]
    ax2.plot([0, 1], [0, 1], "k:", linewidth=1)
    ax2.plot([b["mean_score"] for b in bins], [b["fraction_positive"] for b in bins], "o-", label="PRM")
    for b in bins:
        ax2.annotate(str(b["count"]), (b["mean_score"], b["fraction_positive"]), fontsize=7,
                     textcoords="offset points", xytext=(3, -9))
    ax2.set(xlim=(0, 1), ylim=(0, 1), xlabel="mean predicted P(good)", ylabel="fraction of good steps",
            title=f"calibration (ECE {metrics['ece']}; counts per bin)")
    ax2.legend(loc="upper left")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def question_of_row(row: dict, where: str = "labels") -> str:
    """The question of a StepLabels row in the plain prompt format (``question + "\\n"``), for a PRM that
    renders questions its own way; a chat-format row raises (its question is inside the template).

    >>> question_of_row({"prompt": "What is 2 + 3?\\n", "prompt_format": ""})
    'What is 2 + 3?'
    """
    fmt = json.loads(row["prompt_format"]) if row.get("prompt_format") else {}
    if fmt.get("kind", "plain") != "plain":
        raise ValueError(f"{where}: trace {row.get('trace_id')}: field prompt_format: a {fmt.get('kind')} prompt; "
                         "a --prm-format PRM needs the question, which only plain-format labels keep as text "
                         "(evaluate it on the traces with --processbench, or on plain-format labels)")
    return row["prompt"][:-1] if row["prompt"].endswith("\n") else row["prompt"]


def _score_label_rows(scorer, rows: Sequence[dict], external: bool, where: str) -> list[list[float]]:
    """Scores of label rows: a PRM trained here reads each row's own prompt; a third-party one its question."""
    if not external:
        if not hasattr(scorer, "score_rows"):
            raise ValueError("eval-prm --labels scores a PRM trained here through transformers (each row's own "
                             "prompt); leave out --prm-backend vllm")
        return scorer.score_rows(rows)
    from prm_training.processbench_eval import score_fitting

    return score_fitting(scorer, [(question_of_row(r, where), list(r["completions"])) for r in rows], progress=False)


def evaluate_prm(prm: str | Path, labels: str | Path, out: str | Path | None = None, split: str = "val",
                 batch_size: int = 32, threads: int = 1, backend: str = "hf", prm_format: Any = None,
                 max_length: int | None = None) -> dict[str, Any]:
    """Score the label rows of ``split`` ("val": the PRM's held-out problems, "all") and write metrics + PNG.
    ``prm_format`` reads a third-party checkpoint (``byo_prm.PRMFormat``; only ``split="all"``)."""
    from prm_training.byo_prm import view_format
    from prm_training.prm_data import load_label_rows, split_rows
    from prm_training.load import load_prm

    if split not in ("val", "all"):
        raise ValueError(f"split must be 'val' or 'all', got {split!r}")
    external = prm_format is not None or view_format(prm) is not None
    if external and split == "val":
        raise ValueError(f"--prm {prm}: a third-party PRM has no validation split of these labels; use --split all")
    start = time.time()
    scorer = load_prm(prm, backend, threads, batch_size, prm_format=prm_format, max_length=max_length)
    rows = load_label_rows(labels)
    if split == "val":
        if scorer.config.val_fraction <= 0:
            raise ValueError(f"{prm} was trained without a validation split; use --split all")
        rows = split_rows(rows, scorer.config.val_fraction)[1]
    rows = [r for r in rows if r["completions"]]
    if not rows:
        raise ValueError(f"no labelled traces in split {split!r} of {labels}")
    scores = _score_label_rows(scorer, rows, external, str(labels))
    metrics, curve = quality_report(rows, scores)
    from data.provenance import portable_path

    config = getattr(scorer, "config", None)
    if config is not None and not external:
        from prm_training.base_likelihood import compare_with_base

        compare_with_base(metrics, config, rows, prm)
    metrics.update(split=split, prm=portable_path(prm), labels=portable_path(labels),
                   label_type=config.label_type if config is not None else "external", backend=backend,
                   wall_s=round(time.time() - start, 1))
    if out is not None:
        from data.parquet_io import write_json_atomic

        out = Path(out)
        write_json_atomic(out / "metrics.json", metrics)
        (out / "roc_curve.json").write_text(json.dumps(curve))
        metrics["plot"] = str(plot_eval(metrics, curve, out / PLOT_NAME))
    return metrics
