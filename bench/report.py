"""docs/results.md and the README's headline table, generated from ``bench/results/*.json``.

Design: every benchmark writes one JSON file through ``bench/result_io.write_result`` (an envelope of
benchmark, title, command, date, machine and figures with goals, plus its own body). This script only
reads those files; it measures nothing and types no figure. Each file becomes one section of
docs/results.md (its figures with value, goal and met / **missed**, its command, date and machine), and
the figures marked ``headline`` become the table between ``<!-- results:begin -->`` and
``<!-- results:end -->`` in README.md. A README without those markers is left alone (with a warning).
A file that does not name its ``benchmark`` is listed under "not in the envelope format"; a file
that names it but breaks the envelope stops the report with an error naming the file and the field.
The output depends only on the JSON files: sorted by file name, no time of the report run.

    python bench/report.py            # rewrite docs/results.md and the README's block
    python bench/report.py --check    # exit 1 when either is stale against bench/results/*.json

``make bench`` runs it last (``bench/run_all.py``).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.result_io import EnvelopeError, check_envelope, has_envelope  # noqa: E402

RESULTS_DIR = ROOT / "bench" / "results"
OUT = ROOT / "docs" / "results.md"
README = ROOT / "README.md"
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


@dataclass(frozen=True)
class Result:
    """One results file in the envelope format; ``name`` (the file's stem) is its section's anchor."""

    name: str
    path: Path
    payload: dict[str, Any]


@dataclass(frozen=True)
class Legacy:
    """A results file without the envelope, and what it lacks."""

    name: str
    path: Path
    reason: str


def load_results(results_dir: Path) -> tuple[list[Result], list[Legacy]]:
    """The ``*.json`` files of ``results_dir``, sorted by name, split into envelope and legacy files."""
    results, legacy = [], []
    for path in sorted(Path(results_dir).glob("*.json")):
        shown = display_path(path)
        try:
            payload = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise EnvelopeError(f"{shown}: not valid JSON ({err})") from None
        if has_envelope(payload):
            results.append(Result(path.stem, path, check_envelope(payload, shown)))
            continue
        try:
            check_envelope(payload, shown)
        except EnvelopeError as err:
            legacy.append(Legacy(path.stem, path, str(err).removeprefix(f"{shown}: ")))
    return results, legacy


def display_path(path: Path) -> str:
    """``bench/results/x.json`` for a file in this repository, else the file's name."""
    try:
        return Path(path).resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return Path(path).name


def fmt_value(value: float | None) -> str:
    """A figure's value for a table.

    >>> fmt_value(0.123456), fmt_value(3512.6), fmt_value(547652), fmt_value(-0.0116), fmt_value(None)
    ('0.1235', '3,512.6', '547,652', '-0.0116', 'not measured')
    """
    if value is None:
        return "not measured"
    if isinstance(value, int):
        return f"{value:,}"
    text = f"{value:,.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def fmt_status(fig: dict[str, Any]) -> str:
    """``met``, ``**missed**``, or ``reported`` for a figure without a goal.

    >>> [fmt_status({"met": m}) for m in (True, False, None)]
    ['met', '**missed**', 'reported']
    """
    return {True: "met", False: "**missed**"}.get(fig["met"], "reported")


def cell(text: str) -> str:
    """Text safe inside a Markdown table cell.

    >>> cell("a | b\\nc")
    'a \\\\| b c'
    """
    return str(text).replace("|", "\\|").replace("\n", " ")


def code(text: str) -> str:
    """An inline code span that survives backticks inside ``text``.

    >>> code("python x.py"), code("a`b")
    ('`python x.py`', '`` a`b ``')
    """
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def link(target: Path, start: Path, anchor: str = "") -> str:
    """A relative Markdown link target from the folder ``start`` to ``target``."""
    rel = Path(os.path.relpath(Path(target).resolve(), Path(start).resolve())).as_posix()
    return f"{rel}#{anchor}" if anchor else rel


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]


def _goal(fig: dict[str, Any]) -> str:
    return fig["goal"] if fig["goal"] is not None else "none"


def render_section(result: Result, out_dir: Path) -> list[str]:
    """One benchmark's section: heading with anchor, command, date, machine, its figures and their notes."""
    p = result.payload
    lines = [f'<a id="{result.name}"></a>', "", f"## {p['title']} ({code(result.path.name)})", "",
             f"- command: {code(p['command'])}", f"- date: {p['date']}", f"- machine: {p['machine']}",
             f"- data: [{display_path(result.path)}]({link(result.path, out_dir)})", ""]
    rows = [[f["label"], fmt_value(f["value"]), _goal(f), fmt_status(f)] for f in p["figures"]]
    lines += _table(["figure", "value", "goal", "status"], rows)
    notes = [f for f in p["figures"] if f.get("note")]
    if notes:
        lines += [""] + [f"- {f['label']}: {f['note']}" for f in notes]
    return lines + [""]


def render_results(results: list[Result], legacy: list[Legacy], out: Path) -> str:
    """The whole of docs/results.md."""
    out_dir = Path(out).parent
    lines = ["# Benchmark results", "",
             "Generated by `python bench/report.py` from `bench/results/*.json`: do not edit this file by hand.",
             "`make bench` reruns the benchmarks and then this report; `python bench/report.py --check` fails",
             "when this file is stale against the JSON.", "",
             "Every figure comes with the command, date and machine of its run. A figure with a goal is",
             "`met` or **missed**; one without a goal is `reported` only.", ""]
    goals = [[f["label"], fmt_value(f["value"]), f["goal"], fmt_status(f), f"[{r.name}](#{r.name})"]
             for r in results for f in r.payload["figures"] if f["goal"] is not None]
    if goals:
        lines += ["## Goals", ""] + _table(["figure", "value", "goal", "status", "section"], goals) + [""]
    for result in results:
        lines += render_section(result, out_dir)
    if legacy:
        lines += ["## Not in the envelope format", "",
                  "These files do not follow `bench/result_io.py`'s envelope, so their figures are not shown here:", ""]
        lines += [f"- [{display_path(x.path)}]({link(x.path, out_dir)}): {x.reason}" for x in legacy]
        lines.append("")
    return "\n".join(lines)


def render_readme_block(results: list[Result], out: Path, readme: Path) -> str:
    """The README's headline table, markers included."""
    rows = []
    for r in results:
        for f in r.payload["figures"]:
            if f.get("headline") and not r.name.endswith("_quick"):  # the full-size run speaks for a quick one
                goal = "none" if f["goal"] is None else f"{f['goal']} ({fmt_status(f)})"
                rows.append([f["label"], fmt_value(f["value"]), goal,
                             f"[{r.name}]({link(out, Path(readme).parent, r.name)})"])
    body = _table(["figure", "value", "goal", "details"], rows) if rows else ["No headline figures yet."]
    note = "<!-- generated by python bench/report.py from bench/results/*.json; edit those, not this table -->"
    return "\n".join([BEGIN, note, "", *body, "", END])


def replace_block(text: str, block: str, source: str = "README.md") -> str | None:
    """``text`` with the part from BEGIN to END replaced by ``block``; None when ``text`` has no markers.

    >>> replace_block("a\\n<!-- results:begin -->\\nold\\n<!-- results:end -->\\nb", "NEW")
    'a\\nNEW\\nb'
    >>> replace_block("no markers here", "NEW") is None
    True
    """
    begin, end = text.count(BEGIN), text.count(END)
    if begin == 0 and end == 0:
        return None
    if begin != 1 or end != 1 or text.index(BEGIN) > text.index(END):
        raise ValueError(f"{source}: expected one {BEGIN} followed by one {END}, found {begin} and {end}")
    head, rest = text.split(BEGIN, 1)
    return head + block + rest.split(END, 1)[1]


def expected_files(results_dir: Path, out: Path, readme: Path) -> tuple[dict[Path, str], list[str]]:
    """What docs/results.md and the README should contain now, and warnings (a README without markers)."""
    results, legacy = load_results(results_dir)
    files = {Path(out): render_results(results, legacy, out) + "\n"}
    warnings = [f"{display_path(x.path)} is not in the envelope format: {x.reason}" for x in legacy]
    if not Path(readme).exists():
        warnings.append(f"{display_path(readme)} does not exist: no headline table written")
        return files, warnings
    new = replace_block(Path(readme).read_text(), render_readme_block(results, out, readme), display_path(readme))
    if new is None:
        warnings.append(f"{display_path(readme)} has no {BEGIN} ... {END} markers: its headline table is left alone")
    else:
        files[Path(readme)] = new
    return files, warnings


def stale_files(files: dict[Path, str]) -> list[Path]:
    """The files whose content differs from what they should contain."""
    return [p for p, text in files.items() if not p.exists() or p.read_text() != text]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when a file is stale")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--readme", type=Path, default=README)
    args = parser.parse_args(argv)
    try:
        files, warnings = expected_files(args.results_dir, args.out, args.readme)
    except (EnvelopeError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    stale = stale_files(files)
    if args.check:
        for path in stale:
            print(f"stale: {display_path(path)} (run python bench/report.py)", file=sys.stderr)
        return 1 if stale else 0
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[path])
        print(f"wrote {display_path(path)}")
    if not stale:
        print("up to date: " + ", ".join(display_path(p) for p in files))
    return 0


if __name__ == "__main__":
    sys.exit(main())
