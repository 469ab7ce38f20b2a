"""Agreement of our verifier with the case tables, side by side with math-verify alone.

    python bench/verifier_agreement.py [--timeout 5] [--workers 2]

Two parts, scored apart:

* **tuned**: the rows of tests/verifier_cases.py the code is written against
  (``EQUIV_CASES`` as bare answers, ``GRADE_CASES`` and ``MV_TESTS`` as responses);
* **held-out**: tests/verifier_heldout.py, written before the code it scores and never
  tuned against.

Columns: ``ours`` (the public API: ``is_equivalent`` semantics for bare answers,
``grade_many`` for responses) and ``math-verify alone``: ``verify(parse(gold),
parse(pred))`` on the raw strings, the way its README shows, with both strings put in
``$...$`` for the bare-answer rows (its parser needs delimiters there). math-verify runs
inside our worker processes with its own timeouts off, so a hang costs ``--timeout``
seconds and counts as "not equal".

A row is scored correct/not correct. "Uncontested" leaves out the rows where the graders'
conventions disagree (``contested``), where the label follows our documented choice; a false
positive is a "correct" verdict on a row whose label is not correct. Writes
bench/results/verifier_agreement.json.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parents[1]
for p in (ROOT, ROOT / "tests", ROOT / "bench"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))


class Row(NamedTuple):
    pred: Any
    gold: Any
    correct: bool
    source: str
    contested: str
    bare: bool  # a bare answer (is_equivalent) rather than a response (grade)


def tuned_rows() -> list[Row]:
    from verifier_cases import EQUIV_CASES, GRADE_CASES, MV_TESTS

    rows = [Row(c.pred, c.gold, bool(c.expected), c.source, c.contested, True) for c in EQUIV_CASES]
    rows += [Row(c.pred, c.gold, c.expected == "correct", c.source, c.contested, False) for c in GRADE_CASES + MV_TESTS]
    return rows


def heldout_rows() -> list[Row]:
    from verifier_heldout import HELDOUT

    return [Row(h.response, h.gold, h.correct, h.source.split(":")[0], h.contested, False) for h in HELDOUT]


def ours(rows: list[Row], pool: Any, timeout: float, workers: int) -> list[bool]:
    """Our verdicts through the public code paths (in-process first, then the pool)."""
    from verifiers import grade_many
    from verifiers.equivalence import quick_decide
    from verifiers.normalize import compact, normalize_answer
    from verifiers.screen import screen

    out: list[bool | None] = [None] * len(rows)
    graded = [i for i, r in enumerate(rows) if not r.bare]
    for i, v in zip(graded, grade_many([(rows[i].pred, rows[i].gold) for i in graded], workers=workers,
                                       timeout=timeout, pool=pool)):
        out[i] = v.correct
    todo = []
    for i, r in enumerate(rows):
        if not r.bare:
            continue
        p, g = normalize_answer(r.pred), normalize_answer(r.gold)
        if screen(p) or screen(g):  # what is_equivalent does
            out[i] = compact(p) == compact(g) != ""
            continue
        out[i] = quick_decide(r.pred, r.gold)
        if out[i] is None:
            todo.append(i)
    results = pool.run([("equiv", (rows[i].pred, rows[i].gold)) for i in todo], timeout=timeout, workers=workers)
    for i, res in zip(todo, results):
        out[i] = res.status == "ok" and bool(res.value)
    return [bool(x) for x in out]


def math_verify(rows: list[Row], pool: Any, timeout: float, workers: int) -> tuple[list[bool], int]:
    tasks = [("math_verify_alone", (r.pred, r.gold, r.bare)) for r in rows]
    results = pool.run(tasks, timeout=timeout, workers=workers)
    return [r.status == "ok" and bool(r.value) for r in results], sum(r.status == "timeout" for r in results)


def score(rows: list[Row], got: list[bool]) -> dict:
    """Agreement overall and on uncontested rows, false positives and negatives, by source."""
    def part(keep) -> dict:
        pairs = [(g, r) for g, r in zip(got, rows) if keep(r)]
        hits = sum(g == r.correct for g, r in pairs)
        return {"n": len(pairs), "agree": hits, "rate": round(hits / len(pairs), 4) if pairs else None}

    fp = [r for g, r in zip(got, rows) if g and not r.correct and not r.contested]
    fn = [r for g, r in zip(got, rows) if not g and r.correct and not r.contested]
    by_source: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for g, r in zip(got, rows):
        if not r.contested:
            by_source[r.source][0] += g == r.correct
            by_source[r.source][1] += 1
    return {
        "all": part(lambda r: True),
        "uncontested": part(lambda r: not r.contested),
        "contested": part(lambda r: bool(r.contested)),
        "false_positives_uncontested": len(fp),
        "false_negatives_uncontested": len(fn),
        "by_source_uncontested": {k: v for k, v in sorted(by_source.items())},
        "misses_uncontested": [{"pred": repr(r.pred)[-90:], "gold": repr(r.gold)[:70], "label": r.correct,
                                "source": r.source} for r in fp + fn],
    }


def main() -> None:
    from result_io import figure, write_result
    from verifiers import VerifierPool

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "verifier_agreement.json"))
    args = ap.parse_args()

    parts = {"tuned": tuned_rows(), "held-out": heldout_rows()}
    report: dict[str, dict] = {}
    t0 = time.perf_counter()
    with VerifierPool(size=args.workers) as pool:
        for name, rows in parts.items():
            mine = ours(rows, pool, args.timeout, args.workers)
            theirs, mv_timeouts = math_verify(rows, pool, args.timeout, args.workers)
            report[name] = {"rows": len(rows), "contested_rows": sum(bool(r.contested) for r in rows),
                            "ours": score(rows, mine), "math-verify alone": score(rows, theirs),
                            "math_verify_timeouts": mv_timeouts}
    elapsed = time.perf_counter() - t0

    print(f"{'part':9} {'verifier':18} {'uncontested':>17} {'all rows':>17} {'FP':>4} {'FN':>4}")
    for name, rep in report.items():
        for who in ("ours", "math-verify alone"):
            s = rep[who]
            u, a = s["uncontested"], s["all"]
            print(f"{name:9} {who:18} {u['agree']:>5}/{u['n']:<4} {u['rate']:.3f} {a['agree']:>5}/{a['n']:<4} {a['rate']:.3f}"
                  f" {s['false_positives_uncontested']:>4} {s['false_negatives_uncontested']:>4}")
    print(f"elapsed {elapsed:.1f}s (timeout {args.timeout}s, {args.workers} workers)")

    def rate(part: str, who: str, which: str = "uncontested") -> float:
        return report[part][who][which]["rate"]

    figures = []
    for part in ("held-out", "tuned"):
        key = part.replace("-", "")
        mv_rate = rate(part, "math-verify alone")
        figures += [
            figure(f"{key}_agreement_ours", f"{part} agreement, uncontested rows: ours", rate(part, "ours"),
                   f">= {mv_rate}", "goal: math-verify alone's rate on the same rows"),
            figure(f"{key}_agreement_math_verify", f"{part} agreement, uncontested rows: math-verify alone", mv_rate),
            figure(f"{key}_false_positives_ours", f"{part} false positives outside contested rows: ours",
                   report[part]["ours"]["false_positives_uncontested"], "<= 0"),
            figure(f"{key}_false_positives_math_verify", f"{part} false positives outside contested rows: math-verify",
                   report[part]["math-verify alone"]["false_positives_uncontested"]),
            figure(f"{key}_agreement_all_ours", f"{part} agreement, all rows (contested ones by our conventions): ours",
                   rate(part, "ours", "all"), None, f"math-verify alone: {rate(part, 'math-verify alone', 'all')}"),
        ]
    body = {"timeout_s": args.timeout, "workers": args.workers, "elapsed_s": round(elapsed, 1), "parts": report}
    path = write_result(args.out, "verifier_agreement", "Verifier agreement with the case tables", figures, body)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
