"""The HTML report of a flywheel (or demo) run: every stage's figures and plots on one page.

Images are referenced relative to the report, so the run directory can be moved or zipped whole.
"""
from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

STAGE_IMAGES = [
    ("Labels: soft label against gold (calibration)", "label/report/calibration.png"),
    ("PRM: ROC curve and calibration on held-out problems", "prm_eval/prm_eval.png"),
    ("Search: accuracy against N and against generated tokens", "search/search_scaling.png"),
    ("RL: reward and KL per iteration", "rl/rl_curve.png"),
]


def plot_rl_curve(rl_dir: str | Path) -> Path | None:
    """``rl_dir/rl_curve.png``: mean reward, train accuracy and KL per iteration, from ``log.jsonl``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rl_dir = Path(rl_dir)
    log = rl_dir / "log.jsonl"
    if not log.exists():
        return None
    lines = [json.loads(x) for x in log.read_text().splitlines() if x.strip()]
    if not lines:
        return None
    its = [x["iteration"] for x in lines]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
    ax1.plot(its, [x["reward"] for x in lines], marker="o", label="mean step reward")
    ax1.plot(its, [x["train_accuracy"] for x in lines], marker=".", label="train accuracy (samples)")
    held = [(x["iteration"], x["heldout_accuracy"]) for x in lines if "heldout_accuracy" in x]
    if held:
        ax1.plot(*zip(*held), "s--", label="held-out greedy accuracy")
    ax1.set_xlabel("iteration")
    ax1.legend(fontsize=8)
    ax1.grid(alpha=0.3)
    ax2.plot(its, [x["kl"] for x in lines], marker="o", color="tab:red")
    ax2.set_xlabel("iteration")
    ax2.set_ylabel("KL to the reference policy")
    ax2.grid(alpha=0.3)
    fig.tight_layout()
    path = rl_dir / "rl_curve.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value == value else "nan"
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return "-" if value is None else str(value)


def write_flywheel_report(out_dir: str | Path, rounds: list[dict], title: str = "prm-factory flywheel") -> Path:
    """``out_dir/report.html``: a table of each round's figures, then each stage's plots per round."""
    out = Path(out_dir)
    e = html.escape
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">', f"<title>{e(title)}</title>",
             "<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:66em;color:#222}"
             "table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.25em .6em;"
             "text-align:left}th{background:#f3f3f3}img{max-width:100%;border:1px solid #ddd;margin:.5em 0}"
             ".note{color:#666}</style></head><body>", f"<h1>{e(title)}</h1>",
             f'<p class="note">Run directory: <code>{e(str(out.resolve()))}</code></p>']
    for figures in rounds:
        r = figures["round"]
        round_dir = out / f"round-{r}"
        plot_rl_curve(round_dir / "rl")
        parts += [f"<h2>Round {r}</h2>", "<table>"]
        for key, value in figures.items():
            if key in ("round",):
                continue
            parts.append(f"<tr><th>{e(key)}</th><td>{e(_fmt(value))}</td></tr>")
        parts.append("</table>")
        sweep_md = round_dir / "search" / "sweep.md"
        if sweep_md.exists():
            parts.append(f"<h3>Search</h3><pre>{e(sweep_md.read_text())}</pre>")
        for caption, rel in STAGE_IMAGES:
            if (round_dir / rel).exists():
                parts.append(f"<h3>{e(caption)}</h3>")
                parts.append(f'<img src="round-{r}/{e(rel)}" alt="{e(caption)}">')
        label_report = round_dir / "label" / "report" / "index.html"
        if label_report.exists():
            parts.append(f'<p>Full label report: <a href="round-{r}/label/report/index.html">label/report</a></p>')
    parts.append("</body></html>")
    path = out / "report.html"
    path.write_text("\n".join(parts) + "\n")
    return path
