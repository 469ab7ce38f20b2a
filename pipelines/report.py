"""``prm-factory report RUN``: plots and an HTML summary of a label run directory.

:func:`write_label_report` reads ``RUN/labels/*.parquet`` (StepLabels), ``RUN/stats.json``,
``RUN/manifest.json`` and ``RUN/rejected/rejected.jsonl`` and writes ``RUN/report/``:

- ``calibration.png``: a reliability diagram, soft label (binned) against the fraction of
  gold-positive steps per bin, with counts. Without gold labels it calibrates against the
  hard Monte Carlo labels and says so in its title.
- ``balance.png``: histograms of soft labels, split by gold label (or by hard label).
- ``index.html``: the stats.json figures in a table, the calibration table, the first
  rejections and both plots (``<img src="calibration.png">``). It loads nothing from outside.

matplotlib is imported inside the functions that draw (Agg canvas, no pyplot), so importing
this module stays light.

>>> rows = calibration_table([0.05, 0.15, 0.95, 1.0], [False, True, True, True], bins=2)
>>> [(r["lo"], r["hi"], r["count"], r["frac_positive"]) for r in rows]
[(0.0, 0.5, 2, 0.5), (0.5, 1.0, 2, 1.0)]
>>> round(expected_calibration_error(rows), 4)
0.2125
"""
from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any, Sequence

from pipelines.report_plots import plot_balance, plot_calibration

REPORT_DIR = "report"
_EPS = 1e-6


# --------------------------------------------------------------------------- pure tables


def calibration_table(soft: Sequence[float], truth: Sequence[bool], bins: int = 10) -> list[dict[str, Any]]:
    """Reliability table: ``bins`` equal-width bins over [0, 1] of ``soft``, each with the fraction of ``truth``.

    Each bin is ``{"lo", "hi", "count", "positives", "mean_soft", "frac_positive"}``; an empty bin
    has ``count`` 0 and ``None`` means. A score equal to 1.0 falls into the last bin, and a bin
    holds ``lo <= s < hi``. Raises ValueError on unequal lengths, ``bins < 1`` or a score outside [0, 1].

    >>> t = calibration_table([0.0, 0.25, 0.3, 1.0], [False, False, True, True], bins=4)
    >>> [(r["count"], r["positives"]) for r in t]
    [(1, 0), (2, 1), (0, 0), (1, 1)]
    >>> t[1]["mean_soft"], t[1]["frac_positive"], t[2]["mean_soft"]
    (0.275, 0.5, None)
    >>> calibration_table([1.5], [True])
    Traceback (most recent call last):
    ...
    ValueError: calibration_table: score 1.5 at index 0 is outside [0, 1]
    """
    if len(soft) != len(truth):
        raise ValueError(f"calibration_table: {len(soft)} scores for {len(truth)} truth values")
    if bins < 1:
        raise ValueError(f"calibration_table: bins must be >= 1, got {bins}")
    counts = [0] * bins
    positives = [0] * bins
    sums = [0.0] * bins
    for i, (s, t) in enumerate(zip(soft, truth)):
        s = float(s)
        if not (-_EPS <= s <= 1 + _EPS):  # also rejects NaN
            raise ValueError(f"calibration_table: score {s} at index {i} is outside [0, 1]")
        s = min(1.0, max(0.0, s))
        b = min(int(s * bins), bins - 1)
        counts[b] += 1
        positives[b] += bool(t)
        sums[b] += s
    table = []
    for b in range(bins):
        n = counts[b]
        table.append({
            "lo": round(b / bins, 6), "hi": round((b + 1) / bins, 6), "count": n, "positives": positives[b],
            "mean_soft": round(sums[b] / n, 6) if n else None,
            "frac_positive": round(positives[b] / n, 6) if n else None,
        })
    return table


def expected_calibration_error(table: Sequence[dict[str, Any]]) -> float | None:
    """Count-weighted mean of ``|mean_soft - frac_positive|`` over the bins of a calibration table; None if empty."""
    total = sum(r["count"] for r in table)
    if not total:
        return None
    return sum(r["count"] * abs(r["mean_soft"] - r["frac_positive"]) for r in table if r["count"]) / total


def _steps(rows: Sequence[dict[str, Any]]) -> tuple[list[float], list[bool], list[bool], list[bool]]:
    """Flattened (soft, hard) over all rows, and (soft, gold) restricted to rows whose gold fits.

    Returns ``soft_all, hard_all, gold_mask, gold`` where ``gold_mask[i]`` tells whether step ``i``
    of ``soft_all`` has a gold label, and ``gold`` lists those labels in order.
    """
    soft_all: list[float] = []
    hard_all: list[bool] = []
    mask: list[bool] = []
    gold: list[bool] = []
    for n, row in enumerate(rows, 1):
        labels, soft = list(row.get("labels") or []), list(row.get("soft_labels") or [])
        if len(labels) != len(soft):
            raise ValueError(f"labels row {n} (trace {row.get('trace_id')}): "
                             f"{len(soft)} soft_labels for {len(labels)} labels")
        g = row.get("gold_labels")
        fits = bool(g) and len(g) == len(labels)
        soft_all += [float(s) for s in soft]
        hard_all += [bool(h) for h in labels]
        mask += [fits] * len(labels)
        if fits:
            gold += [bool(x) for x in g]
    return soft_all, hard_all, mask, gold


# --------------------------------------------------------------------------- reading a run


def _read_run(run_dir: Path) -> tuple[list[dict], dict, dict, list[dict]]:
    from data.parquet_io import parquet_files, read_rows

    if not run_dir.is_dir():
        raise FileNotFoundError(f"no such run directory: {run_dir}")
    labels_dir = run_dir / "labels"
    stats_path = run_dir / "stats.json"
    if not labels_dir.is_dir() and not stats_path.exists():
        raise FileNotFoundError(f"{run_dir} is not a label run directory (no labels/ and no stats.json)")
    rows = read_rows(labels_dir) if labels_dir.is_dir() and parquet_files(labels_dir) else []
    for column in ("labels", "soft_labels"):
        if rows and column not in rows[0]:
            raise ValueError(f"{labels_dir}: missing column {column!r} (not StepLabels rows?)")
    stats = _read_json(stats_path) if stats_path.exists() else {}
    manifest = _read_json(run_dir / "manifest.json") if (run_dir / "manifest.json").exists() else {}
    rejected: list[dict] = []
    rej_path = run_dir / "rejected" / "rejected.jsonl"
    if rej_path.exists():
        for line_no, line in enumerate(rej_path.read_text().splitlines(), 1):
            if line.strip():
                try:
                    rejected.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{rej_path}: line {line_no}: not JSON ({exc.msg})") from None
    return rows, stats, manifest, rejected


def _read_json(path: Path) -> dict:
    try:
        obj = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(obj).__name__}")
    return obj


# --------------------------------------------------------------------------- HTML


def _fmt(v: Any) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1e5 else f"{v:,.0f}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return str(v)


def _verdict_mix(verdicts: dict) -> str | None:
    total = sum(verdicts.values())
    if not total:
        return None
    parts = sorted(verdicts.items(), key=lambda kv: -kv[1])
    return ", ".join(f"{k} {v:,} ({100 * v / total:.1f}%)" for k, v in parts)


def _summary_rows(stats: dict, rows: list[dict], quality: dict, ece: float | None,
                  truth_name: str, manifest: dict) -> list[tuple[str, Any]]:
    steps = stats.get("steps", sum(len(r["labels"]) for r in rows))
    positives = sum(sum(bool(x) for x in r["labels"]) for r in rows)
    soft = [float(s) for r in rows for s in r["soft_labels"]]
    frac = stats.get("positive_label_fraction", round(positives / len(soft), 4) if soft else None)
    balance = None
    if frac is not None:
        balance = f"{frac:.4g} positive"
        if soft:
            balance += f" ({positives:,} of {len(soft):,} steps hard-positive; mean soft label {sum(soft) / len(soft):.3f})"
    identity = manifest.get("identity", {}) if isinstance(manifest.get("identity"), dict) else {}
    label_cfg = identity.get("label", {}) if isinstance(identity.get("label"), dict) else {}

    def distinct(col: str) -> str | None:
        vals = sorted({str(r.get(col)) for r in rows if r.get(col) is not None})
        return ", ".join(vals) if vals else None

    out: list[tuple[str, Any]] = [
        ("run id", manifest.get("run_id")),
        ("policy", distinct("policy")),
        ("strategy", distinct("strategy") or label_cfg.get("strategy")),
        ("rollouts per prefix (N)", label_cfg.get("rollouts")),
        ("engine", identity.get("engine")),
        ("verifier", distinct("verifier")),
        ("input traces", stats.get("input_traces")),
        ("rejected traces", stats.get("rejected")),
        ("labeled traces", stats.get("traces", len(rows))),
        ("steps", steps),
        ("shards done", f"{stats['shards_done']} of {stats['shards']}" if "shards" in stats and "shards_done" in stats
         else None),
        ("rollouts", stats.get("rollouts")),
        ("rollouts per step", stats.get("rollouts_per_step")),
        ("rounds (max)", stats.get("rounds_max")),
        ("generated tokens", stats.get("generated_tokens")),
        ("verdict mix", _verdict_mix(stats.get("verdicts") or {})),
        ("verifier timeouts", stats.get("timeouts")),
        ("label balance (hard)", balance),
    ]
    if quality:
        gold_neg = quality.get("gold_steps", 0) - quality.get("gold_positive_steps", 0)
        out += [
            ("gold steps", f"{quality.get('gold_steps'):,} in {quality.get('gold_traces'):,} traces "
                           f"({quality.get('gold_positive_steps'):,} positive, {gold_neg:,} negative)"),
            ("hard accuracy", quality.get("hard_accuracy")),
            ("hard balanced accuracy", quality.get("hard_balanced_accuracy")),
            ("false positives / negatives", f"{quality.get('false_positives')} / {quality.get('false_negatives')}"),
            ("soft AUC", quality.get("soft_auc")),
            ("first-error accuracy", quality.get("first_error_accuracy")),
        ]
    else:
        out.append(("label quality", "no gold labels: accuracy, balanced accuracy and AUC are not known"))
    out += [
        (f"calibration error (ECE, vs {truth_name})", round(ece, 4) if ece is not None else None),
        ("generate time (s)", stats.get("generate_s")),
        ("verify time (s)", stats.get("verify_s")),
        ("wall time (s)", stats.get("wall_s")),
    ]
    return [(k, v) for k, v in out if v is not None]


def _html(run_dir: Path, summary: list[tuple[str, Any]], table: list[dict], truth_name: str,
          rejected: list[dict], n_rejected: int, has_stats: bool) -> str:
    e = html.escape
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>prm-factory label report: {e(run_dir.name)}</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:60em;color:#222}"
        "table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.25em .6em;"
        "text-align:left;vertical-align:top}th{background:#f3f3f3}td.num{text-align:right}"
        "img{max-width:100%;border:1px solid #ddd;margin:.5em 0}.note{color:#666}</style>",
        "</head><body>",
        "<h1>Label run report</h1>",
        f'<p class="note">Run directory: <code>{e(str(run_dir))}</code></p>',
    ]
    if not has_stats:
        parts.append('<p class="note">No stats.json in this run: figures below come from the label files only.</p>')
    parts += ["<h2>Summary</h2>", "<table>"]
    for key, value in summary:
        parts.append(f"<tr><th>{e(key)}</th><td>{e(_fmt(value))}</td></tr>")
    parts.append("</table>")

    parts.append("<h2>Calibration</h2>")
    if truth_name == "gold":
        parts.append("<p>Soft labels binned against the fraction of <b>gold-positive</b> steps in each bin.</p>")
    else:
        parts.append("<p>This run has no gold step labels, so soft labels are compared with the <b>hard Monte "
                     "Carlo labels</b> (a step is positive when some continuation was correct). This shows the "
                     "spread of the soft labels, not their accuracy.</p>")
    parts.append('<img src="calibration.png" alt="reliability diagram of soft labels">')
    parts.append("<table><tr><th>soft label bin</th><th>steps</th><th>mean soft label</th>"
                 f"<th>fraction {e(truth_name)}-positive</th></tr>")
    for r in table:
        parts.append(f"<tr><td>[{r['lo']:.2f}, {r['hi']:.2f}{']' if r['hi'] >= 1 else ')'}</td>"
                     f"<td class=\"num\">{r['count']:,}</td><td class=\"num\">{e(_fmt(r['mean_soft']))}</td>"
                     f"<td class=\"num\">{e(_fmt(r['frac_positive']))}</td></tr>")
    parts.append("</table>")

    parts.append("<h2>Label balance</h2>")
    parts.append('<img src="balance.png" alt="histogram of soft labels by label">')

    parts.append("<h2>Rejected traces</h2>")
    if n_rejected:
        shown = rejected[:10]
        more = f"; the first {len(shown)}:" if len(shown) < n_rejected else ":"
        parts.append(f"<p>{n_rejected:,} input trace{'s were' if n_rejected != 1 else ' was'} rejected before "
                     f"labeling{more if shown else '.'}</p>")
        if rejected:
            parts.append("<table><tr><th>trace_id</th><th>reason</th></tr>")
            for r in shown:
                parts.append(f"<tr><td><code>{e(str(r.get('trace_id')))}</code></td>"
                             f"<td>{e(str(r.get('reason')))}</td></tr>")
            parts.append("</table>")
    else:
        parts.append("<p>No input trace was rejected.</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


# --------------------------------------------------------------------------- entry point


def write_label_report(run_dir: str | os.PathLike, bins: int = 10) -> Path:
    """Write ``run_dir/report/{calibration.png, balance.png, index.html}`` and return the path of index.html.

    Raises FileNotFoundError when ``run_dir`` is not a label run directory (no ``labels/`` and no
    ``stats.json``), ValueError on malformed files (naming the file).
    """
    from labelers.metrics import label_quality

    run_dir = Path(run_dir)
    rows, stats, manifest, rejected = _read_run(run_dir)
    soft_all, hard_all, mask, gold = _steps(rows)
    if gold:
        truth_name = "gold"
        soft = [s for s, m in zip(soft_all, mask) if m]
        truth = gold
    else:
        truth_name = "hard"
        soft, truth = soft_all, hard_all
    try:
        table = calibration_table(soft, truth, bins=bins)
    except ValueError as exc:
        raise ValueError(f"{run_dir / 'labels'}: soft_labels: {exc}") from None
    ece = expected_calibration_error(table)
    quality = {k: stats[k] for k in ("gold_traces", "gold_steps", "gold_positive_steps", "hard_accuracy",
                                     "hard_balanced_accuracy", "false_positives", "false_negatives", "soft_auc",
                                     "first_error_accuracy") if k in stats}
    if gold and len(quality) < 9:
        quality = label_quality(rows)  # stats.json predates the metrics, or is missing

    out = run_dir / REPORT_DIR
    out.mkdir(parents=True, exist_ok=True)
    plot_calibration(table, truth_name, len(soft), ece, out / "calibration.png")
    plot_balance(soft, truth, truth_name, out / "balance.png")
    summary = _summary_rows(stats, rows, quality, ece, truth_name, manifest)
    n_rejected = int(stats.get("rejected", len(rejected)) or 0)
    index = out / "index.html"
    tmp = index.with_name(f".index.html.{os.getpid()}.tmp")
    tmp.write_text(_html(run_dir.resolve(), summary, table, truth_name, rejected, n_rejected, bool(stats)),
                   encoding="utf-8")
    os.replace(tmp, index)
    return index
