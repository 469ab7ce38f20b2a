"""ProcessBench evaluation of any PRM: find the earliest wrong step of human-annotated solutions.

The PRM scores every step; its predicted first error is the first step whose P(good) falls below the
threshold, or -1 when none does. A row is right when the prediction equals the human ``label``. The
ProcessBench F1 is the harmonic mean of the accuracy on erroneous rows (label >= 0) and on correct
rows (label -1):

>>> m = processbench_metrics([2, 0, -1, -1], [2, 1, -1, 0])
>>> m["accuracy_erroneous"], m["accuracy_correct"], m["processbench_f1"], m["n"]
(0.5, 0.5, 0.5, 4)
>>> predict_first_error([0.9, 0.4, 0.8], 3), predict_first_error([0.9, 0.6], 2)
(1, -1)

A solution longer than the PRM's context is cut there, and only the steps that fit are scored. If one
of them falls below the threshold the prediction stands (later steps cannot change it); otherwise the
row is *undecided*: its prediction is None and it counts as a miss. ``truncated_rows``,
``truncated_steps`` and ``undecided_rows`` say how often that happened.

>>> predict_first_error([0.9, 0.8], 5) is None, predict_first_error([0.9, 0.1], 5)
(True, 1)
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, Sequence

THRESHOLD = 0.5
TUNE_GRID = tuple(round(k / 100, 2) for k in range(101))
CHUNK = 64  # rows per scorer call


def _r(x: float | None) -> float | None:
    return None if x is None else round(float(x), 4)


def predict_first_error(scores: Sequence[float], n_steps: int, threshold: float = THRESHOLD) -> int | None:
    """The first step scored below ``threshold``, -1 when every step was scored and none is; None when the
    scores stop short of ``n_steps`` (the input was cut) with no step below."""
    hit = next((i for i, s in enumerate(scores) if s < threshold), None)
    if hit is not None:
        return hit
    return -1 if len(scores) >= n_steps else None


def processbench_metrics(labels: Sequence[int], predicted: Sequence[int | None]) -> dict[str, Any]:
    """Accuracy on erroneous rows, on correct rows, their harmonic mean (``processbench_f1``) and counts."""
    err = [p == y for y, p in zip(labels, predicted) if y >= 0]
    ok = [p == -1 for y, p in zip(labels, predicted) if y < 0]
    acc_err = sum(err) / len(err) if err else None
    acc_ok = sum(ok) / len(ok) if ok else None
    f1 = None
    if acc_err is not None and acc_ok is not None:
        f1 = 2 * acc_err * acc_ok / (acc_err + acc_ok) if acc_err + acc_ok > 0 else 0.0
    return {"processbench_f1": _r(f1), "accuracy_erroneous": _r(acc_err), "accuracy_correct": _r(acc_ok),
            "n": len(labels), "n_erroneous": len(err), "n_correct": len(ok)}


def predictions(rows: Sequence[Any], scores: Sequence[Sequence[float]], threshold: float) -> list[int | None]:
    return [predict_first_error(s, len(r.steps), threshold) for r, s in zip(rows, scores)]


def report(rows: Sequence[Any], scores: Sequence[Sequence[float]], threshold: float = THRESHOLD) -> dict[str, Any]:
    """The metrics of all rows and of each generator, with truncation counts."""
    predicted = predictions(rows, scores, threshold)
    labels = [r.label for r in rows]
    out = {**processbench_metrics(labels, predicted), "threshold": threshold}
    generators = sorted({r.generator for r in rows})
    out["per_generator"] = {
        g: processbench_metrics([y for y, r in zip(labels, rows) if r.generator == g],
                                [p for p, r in zip(predicted, rows) if r.generator == g]) for g in generators}
    cut = [(r, s) for r, s in zip(rows, scores) if len(s) < len(r.steps)]
    out.update(truncated_rows=len(cut), truncated_steps=sum(len(r.steps) - len(s) for r, s in cut),
               undecided_rows=sum(p is None for p in predicted))
    return out


def tune_threshold(rows: Sequence[Any], scores: Sequence[Sequence[float]],
                   grid: Sequence[float] = TUNE_GRID) -> tuple[float, dict[str, Any]]:
    """The threshold of ``grid`` with the best ProcessBench F1 on these rows (ties: the one nearest 0.5).

    >>> class R:
    ...     def __init__(self, label, n): self.label, self.steps = label, [""] * n
    >>> tune_threshold([R(1, 2), R(-1, 2)], [[0.9, 0.7], [0.9, 0.8]], grid=[0.5, 0.75, 0.85])[0]
    0.75
    """
    labels = [r.label for r in rows]
    best = None
    for t in grid:
        m = processbench_metrics(labels, predictions(rows, scores, t))
        key = (m["processbench_f1"] if m["processbench_f1"] is not None else -1.0, -abs(t - 0.5))
        if best is None or key > best[0]:
            best = (key, t, m)
    return best[1], best[2]


def score_fitting(scorer, items: Sequence[tuple[str, list[str]]], chunk: int = CHUNK,
                  progress: bool = True) -> list[list[float]]:
    """Scores of every item, an input past the PRM's context cut to the steps that fit: the scorer's own
    ``score_fitting``, else the longest step prefix that ``score_batch`` accepts."""
    order = sorted(range(len(items)), key=lambda i: len(items[i][0]) + sum(len(s) for s in items[i][1]))
    out: list[list[float]] = [[] for _ in items]  # scored shortest first, so that batches pad little
    for k in range(0, len(order), chunk):
        index = order[k:k + chunk]
        part = [items[i] for i in index]
        if hasattr(scorer, "score_fitting"):
            scored = scorer.score_fitting(part)
        elif _is_hf_likelihood(scorer):  # it cuts long inputs itself: score only the steps that fit
            scored = scorer.score_batch([_likelihood_prefix(scorer, q, steps) for q, steps in part])
        else:
            try:
                scored = scorer.score_batch(part)
            except ValueError as exc:
                if "max_length" not in str(exc):
                    raise
                scored = [_longest_prefix_scores(scorer, q, steps) for q, steps in part]
        for i, s in zip(index, scored):
            out[i] = list(s)
        if progress:
            print(f"\rscored {min(k + chunk, len(items))}/{len(items)} solutions", end="", file=sys.stderr)
    if progress and items:
        print(file=sys.stderr)
    return out


def _is_hf_likelihood(scorer) -> bool:
    from prm_training.likelihood_prm import LikelihoodPRMScorer

    return isinstance(scorer, LikelihoodPRMScorer)


def _likelihood_prefix(scorer, question: str, steps: list[str]) -> tuple[str, list[str]]:
    """The steps whose every token lies inside the likelihood PRM's ``max_length``."""
    from prm_training.likelihood_prm import step_token_spans

    p = scorer.prompter
    _, spans = step_token_spans(scorer.tokenizer, p.question_prompt(question), steps, p.delimiter,
                                p.add_special_tokens)
    limit = scorer.config.max_length
    k = next((i for i, span in enumerate(spans) if span and max(span) >= limit), len(steps))
    return question, steps[:k]


def _longest_prefix_scores(scorer, question: str, steps: list[str]) -> list[float]:
    lo, hi, best = 0, len(steps), []
    while lo < hi:  # the largest k whose prefix fits
        mid = (lo + hi + 1) // 2
        try:
            best = scorer.score_batch([(question, steps[:mid])])[0]
            lo = mid
        except ValueError as exc:
            if "max_length" not in str(exc):
                raise
            hi = mid - 1
    return best if lo else []


def evaluate_processbench(prm: str | Path, processbench: str | Path, out: str | Path | None = None,
                          threshold: float = THRESHOLD, tune: bool = False, tune_on: str | Path | None = None,
                          backend: str = "hf", prm_format: Any = None, batch_size: int = 8,
                          threads: int | None = None, max_length: int | None = None) -> dict[str, Any]:
    """Score a ProcessBench-format file with the PRM at ``prm``; write ``metrics.json`` and
    ``predictions.jsonl`` to ``out``. ``tune`` adds the best threshold on this file (``tuned``, in-sample);
    ``tune_on`` picks the threshold on another file (a split), as ProcessBench does, and evaluates this
    file with it."""
    from data.processbench import load_processbench
    from prm_training.load import load_prm

    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"--threshold {threshold}: expected a probability in [0, 1]")
    start = time.time()
    rows = load_processbench(processbench)
    tune_rows = load_processbench(tune_on) if tune_on else None
    scorer = load_prm(prm, backend, threads, batch_size, prm_format=prm_format, max_length=max_length)
    scores = score_fitting(scorer, [(r.problem, list(r.steps)) for r in rows])
    tuned = None
    if tune_rows is not None:
        tune_scores = score_fitting(scorer, [(r.problem, list(r.steps)) for r in tune_rows])
        threshold, tuned_metrics = tune_threshold(tune_rows, tune_scores)
        tuned = {"threshold": threshold, "on": Path(tune_on).name, **tuned_metrics}
    metrics = report(rows, scores, threshold)
    if tune and tune_rows is None:
        best, best_metrics = tune_threshold(rows, scores)
        tuned = {"threshold": best, "on": Path(processbench).name, "in_sample": True, **best_metrics}
    if tuned is not None:
        metrics["tuned"] = tuned
    fmt = getattr(prm_format, "to_dict", lambda: prm_format)()
    metrics.update(prm=Path(prm).name, prm_format=fmt, backend=backend, file=Path(processbench).name,
                   max_length=getattr(scorer, "max_length", None), wall_s=round(time.time() - start, 1))
    if metrics["truncated_rows"]:
        print(f"warning: {metrics['truncated_rows']} solutions exceed the PRM's context of {metrics['max_length']} "
              f"tokens: {metrics['truncated_steps']} steps were not scored, {metrics['undecided_rows']} rows are "
              "undecided and count as misses (raise --max-length if the model allows)", file=sys.stderr)
    if out is not None:
        write_outputs(out, metrics, rows, scores, threshold)
    return metrics


def write_outputs(out: str | Path, metrics: dict[str, Any], rows: Sequence[Any], scores: Sequence[Sequence[float]],
                  threshold: float) -> None:
    """``metrics.json`` and ``predictions.jsonl`` (one line per row: id, generator, label, predicted, scores)."""
    from data.parquet_io import write_json_atomic

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / "metrics.json", metrics)
    lines = []
    for row, s, p in zip(rows, scores, predictions(rows, scores, threshold)):
        lines.append(json.dumps({"id": row.id, "generator": row.generator, "label": row.label, "predicted": p,
                                 "scores": [round(x, 6) for x in s], "n_steps": len(row.steps),
                                 "truncated": len(s) < len(row.steps)}))
    tmp = out / "predictions.jsonl.tmp"
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(out / "predictions.jsonl")
