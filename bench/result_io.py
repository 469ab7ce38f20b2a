"""The one format of ``bench/results/*.json``, from which ``bench/report.py`` writes docs/results.md.

Every benchmark writes its own body plus an envelope:

    {"benchmark": "verifier_throughput", "title": "...", "command": "python bench/...",
     "date": "2026-12-07", "machine": "x86_64, 2 cores, no GPU",
     "figures": [{"key": "verdicts_per_s_per_core", "label": "verdicts/s per core", "value": 512.3,
                  "goal": ">= 500", "met": true, "note": "..."}],
     ...the benchmark's own fields...}

``goal`` is a comparison (``">= 0.95"``, ``"<= 8"``) or null for a figure that is only reported;
``met`` is computed from it here, never typed by hand.

>>> goal_met(0.97, ">= 0.95"), goal_met(9.1, "<= 8"), goal_met(3, None)
(True, False, None)
"""
from __future__ import annotations

import datetime
import json
import os
import platform
import shlex
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "bench" / "results"
_OPS = {">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, "<": lambda a, b: a < b}


def goal_met(value: float | None, goal: str | None) -> bool | None:
    """Whether ``value`` meets ``goal`` (an operator and a number); None when there is no goal."""
    if goal is None or value is None:
        return None
    op, _, number = goal.strip().partition(" ")
    if op not in _OPS:
        raise ValueError(f"goal {goal!r}: expected one of {sorted(_OPS)} followed by a number")
    return bool(_OPS[op](float(value), float(number)))


def figure(key: str, label: str, value: float | None, goal: str | None = None, note: str = "") -> dict[str, Any]:
    """One reported figure.

    >>> figure("hit", "prefix-cache hit rate", 0.5, ">= 0.95")["met"]
    False
    """
    return {"key": key, "label": label, "value": value, "goal": goal, "met": goal_met(value, goal), "note": note}


def machine_description() -> str:
    """``x86_64, 2 cores, no GPU`` or ``x86_64, 16 cores, NVIDIA H100 80GB HBM3``."""
    gpu = "no GPU"
    try:
        import torch  # noqa: PLC0415

        if torch.cuda.is_available():
            gpu = torch.cuda.get_device_name(0)
    except Exception:  # torch absent or broken: the CPU description still holds
        pass
    return f"{platform.machine()}, {os.cpu_count()} cores, {gpu}"


def command_line(argv: list[str] | None = None) -> str:
    """The command as a user would type it from the repository root."""
    argv = list(sys.argv if argv is None else argv)
    script = Path(argv[0])
    if script.is_absolute():
        try:
            script = script.relative_to(ROOT)
        except ValueError:
            script = Path(script.name)
    return shlex.join(["python", str(script), *argv[1:]])


def write_result(path: str | Path, benchmark: str, title: str, figures: list[dict[str, Any]],
                 body: dict[str, Any] | None = None, argv: list[str] | None = None) -> Path:
    """Write the envelope plus ``body`` atomically and return the path."""
    path = Path(path)
    payload = {"benchmark": benchmark, "title": title, "command": command_line(argv),
               "date": datetime.date.today().isoformat(), "machine": machine_description(),
               "figures": figures, **(body or {})}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n")
    os.replace(tmp, path)
    return path
