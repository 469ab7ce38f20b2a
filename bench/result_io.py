"""The one format of ``bench/results/*.json``, from which ``bench/report.py`` writes docs/results.md.

Every benchmark writes its own body plus an envelope:

    {"benchmark": "verifier_throughput", "title": "...", "command": "python bench/...",
     "date": "2026-12-07", "machine": "x86_64, 2 cores, no GPU",
     "figures": [{"key": "verdicts_per_s_per_core", "label": "verdicts/s per core", "value": 512.3,
                  "goal": ">= 500", "met": true, "note": "...", "headline": false}],
     ...the benchmark's own fields...}

``goal`` is a comparison (``">= 0.95"``, ``"<= 8"``) or null for a figure that is only reported;
``met`` is computed from it here, never typed by hand. ``headline`` figures also go into the
README's table. ``read_result`` checks a file against this format and names the file and the field
that break it.

>>> goal_met(0.97, ">= 0.95"), goal_met(9.1, "<= 8"), goal_met(3, None)
(True, False, None)
"""
from __future__ import annotations

import datetime
import json
import os
import platform
import re
import shlex
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "bench" / "results"
ENVELOPE_FIELDS = ("benchmark", "title", "command", "date", "machine", "figures")
_TEXT_FIELDS = ("benchmark", "title", "command", "machine")
_OPS = {">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, "<": lambda a, b: a < b}


class EnvelopeError(ValueError):
    """A results file that does not follow the envelope; the message names the file and the field."""


def goal_met(value: float | None, goal: str | None) -> bool | None:
    """Whether ``value`` meets ``goal`` (an operator and a number); None when there is no goal."""
    if goal is None or value is None:
        return None
    op, _, number = goal.strip().partition(" ")
    if op not in _OPS:
        raise ValueError(f"goal {goal!r}: expected one of {sorted(_OPS)} followed by a number")
    return bool(_OPS[op](float(value), float(number)))


def figure(key: str, label: str, value: float | None, goal: str | None = None, note: str = "",
           headline: bool = False) -> dict[str, Any]:
    """One reported figure; ``headline`` ones also go into the README's table.

    >>> figure("hit", "prefix-cache hit rate", 0.5, ">= 0.95")["met"]
    False
    """
    return {"key": key, "label": label, "value": value, "goal": goal, "met": goal_met(value, goal), "note": note,
            "headline": headline}


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


def portable(value: Any, root: Path = ROOT) -> Any:
    """``value`` with every path under ``root`` written relative to it (strings inside lists and dicts too).

    >>> portable({"work": "/repo/runs/x", "n": [1, "--out=/repo/bench/r.json"]}, Path("/repo"))
    {'work': 'runs/x', 'n': [1, '--out=bench/r.json']}
    """
    if isinstance(value, str):
        return value.replace(f"{root}{os.sep}", "")
    if isinstance(value, dict):
        return {k: portable(v, root) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [portable(v, root) for v in value]
    return value


def command_line(argv: list[str] | None = None) -> str:
    """The command as a user would type it from the repository root."""
    argv = list(sys.argv if argv is None else argv)
    script = Path(argv[0])
    if script.is_absolute():
        try:
            script = script.relative_to(ROOT)
        except ValueError:
            script = Path(script.name)
    return shlex.join(["python", str(script), *portable(argv[1:])])


def write_result(path: str | Path, benchmark: str, title: str, figures: list[dict[str, Any]],
                 body: dict[str, Any] | None = None, argv: list[str] | None = None, *,
                 command: str | None = None, date: str | None = None, machine: str | None = None) -> Path:
    """Write the envelope plus ``body`` atomically and return the path.

    ``command``, ``date`` and ``machine`` default to this process's command line, today and this machine;
    pass them for a result measured elsewhere or earlier. Paths under the repository are made relative.
    """
    path = Path(path)
    clash = sorted(set(body or {}) & set(ENVELOPE_FIELDS))
    if clash:
        raise ValueError(f"{path}: body field(s) {clash} would overwrite the envelope")
    payload = {"benchmark": benchmark, "title": title, "command": command or command_line(argv),
               "date": date or datetime.date.today().isoformat(), "machine": machine or machine_description(),
               "figures": figures, **portable(body or {})}
    check_envelope(payload, str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n")
    os.replace(tmp, path)
    return path


def has_envelope(payload: Any) -> bool:
    """Whether a loaded file claims the envelope (it names its ``benchmark``); older files do not.

    >>> has_envelope({"benchmark": "x"}), has_envelope({"rows": []}), has_envelope([1])
    (True, False, False)
    """
    return isinstance(payload, dict) and "benchmark" in payload


def check_envelope(payload: Any, source: str) -> dict[str, Any]:
    """``payload`` when it follows the envelope; otherwise an EnvelopeError naming ``source`` and the field.

    >>> try:
    ...     check_envelope({"benchmark": "b"}, "b.json")
    ... except EnvelopeError as err:
    ...     print(err)
    b.json: field 'title' is missing (every result needs benchmark, title, command, date, machine, figures)
    """
    if not isinstance(payload, dict):
        raise EnvelopeError(f"{source}: expected a JSON object, got {type(payload).__name__}")
    for field in ENVELOPE_FIELDS:
        if field not in payload:
            raise EnvelopeError(f"{source}: field {field!r} is missing (every result needs "
                                f"{', '.join(ENVELOPE_FIELDS)})")
    for field in _TEXT_FIELDS:
        if not isinstance(payload[field], str) or not payload[field].strip():
            raise EnvelopeError(f"{source}: field {field!r} must be a non-empty string, got {payload[field]!r}")
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(payload["date"])):
        raise EnvelopeError(f"{source}: field 'date' must be YYYY-MM-DD, got {payload['date']!r}")
    figures = payload["figures"]
    if not isinstance(figures, list) or not figures:
        raise EnvelopeError(f"{source}: field 'figures' must be a non-empty list")
    keys = [_check_figure(f, f"{source}: figures[{i}]") for i, f in enumerate(figures)]
    duplicate = sorted({k for k in keys if keys.count(k) > 1})
    if duplicate:
        raise EnvelopeError(f"{source}: field 'figures' repeats the key(s) {duplicate}")
    return payload


def _check_figure(fig: Any, where: str) -> str:
    if not isinstance(fig, dict):
        raise EnvelopeError(f"{where}: expected an object, got {fig!r}")
    for field in ("key", "label", "value", "goal", "met"):
        if field not in fig:
            raise EnvelopeError(f"{where}: field {field!r} is missing")
    for field in ("key", "label"):
        if not isinstance(fig[field], str) or not fig[field].strip():
            raise EnvelopeError(f"{where}: field {field!r} must be a non-empty string, got {fig[field]!r}")
    value = fig["value"]
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise EnvelopeError(f"{where} ({fig['key']}): field 'value' must be a number or null, got {value!r}")
    try:
        met = goal_met(value, fig["goal"])
    except (ValueError, AttributeError) as err:
        raise EnvelopeError(f"{where} ({fig['key']}): field 'goal': {err}") from None
    if fig["met"] != met:
        raise EnvelopeError(f"{where} ({fig['key']}): field 'met' is {fig['met']!r} but value {value!r} against "
                            f"goal {fig['goal']!r} gives {met!r}")
    if not isinstance(fig.get("note", ""), str) or not isinstance(fig.get("headline", False), bool):
        raise EnvelopeError(f"{where} ({fig['key']}): field 'note' must be a string and 'headline' a boolean")
    return fig["key"]


def read_result(path: str | Path) -> dict[str, Any]:
    """Load one results file and check its envelope (EnvelopeError names the file and the field)."""
    path = Path(path)
    try:
        payload = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise EnvelopeError(f"{path}: not valid JSON ({err})") from None
    return check_envelope(payload, str(path))
