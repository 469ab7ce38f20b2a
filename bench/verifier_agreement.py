"""Agreement of our verifier with the case table, beside math-verify called alone.

    python bench/verifier_agreement.py [--timeout 5] [--workers 2]

Rows: every case of ``tests/verifier_cases.py`` (equivalence rows and grade rows).
Columns:

* ``ours``: the public API (``is_equivalent`` / ``grade_many``), statuses must match;
* ``ours (plain sympy)``: our pipeline with math-verify's comparison replaced by
  ``simplify(a - b) == 0`` (the ablation that tells whether math-verify earns its place);
* ``math-verify alone``: ``verify(parse(gold), parse(pred))`` on the raw strings;
* ``math-verify alone, $-wrapped``: the same with both strings put in ``$...$``
  (only meaningful for the equivalence rows, whose strings are bare answers).

math-verify runs inside our worker processes with its own timeouts off, so its hangs
(``10^{10^{10}}``) cost ``--timeout`` seconds and count as "not equal". Writes
``bench/results/verifier_agreement.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for p in (ROOT, ROOT / "tests"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))


def _agree(pairs_expected: list[tuple[object, object]]) -> tuple[int, int]:
    hits = sum(1 for got, exp in pairs_expected if got == exp)
    return hits, len(pairs_expected)


def main() -> None:
    from verifier_cases import EQUIV_CASES, GRADE_CASES, HELDOUT_MV
    from verifiers import VerifierPool, grade_many
    from verifiers.api import prepare

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "verifier_agreement.json"))
    args = ap.parse_args()

    pool = VerifierPool(size=args.workers)
    t0 = time.perf_counter()
    columns: dict[str, dict[str, list]] = defaultdict(dict)

    seconds: dict[str, float] = defaultdict(float)

    def run(tasks: list, name: str = "") -> list:
        t = time.perf_counter()
        out = pool.run(tasks, timeout=args.timeout, workers=args.workers)
        seconds[name] += time.perf_counter() - t
        return out

    def as_bool(results: list) -> list[bool]:
        return [r.status == "ok" and bool(r.value) for r in results]

    # --- equivalence rows: expected is a bool ------------------------------------------
    eq_exp = [c.expected for c in EQUIV_CASES]
    columns["equiv"]["ours"] = as_bool(run([("equiv", (c.pred, c.gold)) for c in EQUIV_CASES], "ours"))
    columns["equiv"]["ours (plain sympy)"] = as_bool(
        run([("equiv", (c.pred, c.gold, "sympy")) for c in EQUIV_CASES], "ours (plain sympy)")
    )
    columns["equiv"]["math-verify alone"] = as_bool(
        run([("math_verify_alone", (c.pred, c.gold)) for c in EQUIV_CASES], "math-verify alone")
    )
    columns["equiv"]["math-verify alone, $-wrapped"] = as_bool(
        run([("math_verify_alone", (c.pred, c.gold, True)) for c in EQUIV_CASES], "math-verify alone, $-wrapped")
    )

    # --- grade rows: expected is a status; "correct" vs not for the baselines ------------
    gr_exp = [c.expected for c in GRADE_CASES]
    ours_status = [v.status for v in grade_many([(c.pred, c.gold) for c in GRADE_CASES], pool=pool, timeout=args.timeout)]
    columns["grade"]["ours"] = ours_status
    prepared = [prepare(c.pred, c.gold) for c in GRADE_CASES]
    todo = [i for i, p in enumerate(prepared) if p.verdict is None]
    plain = [p.verdict.status if p.verdict else None for p in prepared]
    for i, r in zip(todo, run([("equiv", (prepared[i].pred, prepared[i].gold, "sympy")) for i in todo])):
        plain[i] = "correct" if r.status == "ok" and r.value else ("timeout" if r.status == "timeout" else "incorrect")
    columns["grade"]["ours (plain sympy)"] = plain
    mv = as_bool(run([("math_verify_alone", (c.pred, c.gold)) for c in GRADE_CASES]))
    columns["grade"]["math-verify alone"] = ["correct" if b else "not correct" for b in mv]
    # --- held-out rows (math-verify's own tests, its labels): correct vs not ---------------
    ho_exp = [c.expected == "correct" for c in HELDOUT_MV]
    ho_ours = [v.correct for v in grade_many([(c.pred, c.gold) for c in HELDOUT_MV], pool=pool, timeout=args.timeout)]
    ho_mv = as_bool(run([("math_verify_alone", (c.pred, c.gold)) for c in HELDOUT_MV]))
    heldout = {}
    for name, got in (("ours", ho_ours), ("math-verify alone", ho_mv)):
        hits = sum(g == e for g, e in zip(got, ho_exp))
        heldout[name] = {
            "agree": hits,
            "n": len(ho_exp),
            "rate": round(hits / len(ho_exp), 4),
            "misses": [
                {"gold": repr(c.gold)[:60], "pred": repr(c.pred)[-80:], "expected": e, "got": g, "note": c.note}
                for g, e, c in zip(got, ho_exp, HELDOUT_MV)
                if g != e
            ],
        }
    elapsed = time.perf_counter() - t0
    pool.close()

    # --- score -----------------------------------------------------------------------------
    def score(table: str, name: str) -> dict:
        if table == "equiv":
            got, exp, cases = columns[table][name], eq_exp, EQUIV_CASES
            pairs = list(zip(got, exp))
        else:
            got, exp, cases = columns[table][name], gr_exp, GRADE_CASES
            if name.startswith("math-verify"):  # it only says equal / not equal
                pairs = [(g == "correct", e == "correct") for g, e in zip(got, exp)]
            else:
                pairs = list(zip(got, exp))
        hits, n = _agree(pairs)
        by_source: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        misses = []
        for (g, e), c in zip(pairs, cases):
            by_source[c.source][0] += g == e
            by_source[c.source][1] += 1
            if g != e:
                misses.append({"pred": repr(c.pred)[:80], "gold": repr(c.gold)[:60], "expected": e, "got": g, "source": c.source})
        return {"agree": hits, "n": n, "rate": round(hits / n, 4), "by_source": dict(by_source), "misses": misses}

    report = {t: {name: score(t, name) for name in columns[t]} for t in ("equiv", "grade")}
    names = list(columns["equiv"])
    totals = {}
    for name in names:
        parts = [report[t][name] for t in ("equiv", "grade") if name in report[t]]
        a, n = sum(p["agree"] for p in parts), sum(p["n"] for p in parts)
        totals[name] = {"agree": a, "n": n, "rate": round(a / n, 4)}

    print(f"verifier agreement with tests/verifier_cases.py ({len(EQUIV_CASES)} equivalence + {len(GRADE_CASES)} grade rows)")
    print(f"{'verifier':32} {'equivalence':>14} {'grade':>14} {'all':>14}")
    for name in names:
        e = report["equiv"][name]
        g = report["grade"].get(name)
        gs = f"{g['agree']}/{g['n']}" if g else "-"
        tot = totals[name] if g else {"agree": e["agree"], "n": e["n"], "rate": e["rate"]}
        print(f"{name:32} {e['agree']:>5}/{e['n']:<4} {e['rate']:.3f} {gs:>9} {(g or {}).get('rate', float('nan')):.3f} {tot['agree']:>5}/{tot['n']:<4}")
    print("by source (equivalence rows), agree/n:")
    for src in sorted(report["equiv"]["ours"]["by_source"]):
        row = "  ".join(f"{n}: {report['equiv'][n]['by_source'][src][0]}/{report['equiv'][n]['by_source'][src][1]}" for n in names)
        print(f"  {src:5} {row}")
    print(f"held out ({len(HELDOUT_MV)} rows from math-verify's own tests, its labels): "
          + ", ".join(f"{k} {v['agree']}/{v['n']} = {v['rate']:.3f}" for k, v in heldout.items()))
    print("seconds on the equivalence rows: " + ", ".join(f"{k} {v:.1f}s" for k, v in seconds.items() if k))
    print(f"elapsed {elapsed:.1f}s (timeout {args.timeout}s, {args.workers} workers)")

    result = {
        "command": "python bench/verifier_agreement.py " + " ".join(sys.argv[1:]),
        "timeout_s": args.timeout,
        "workers": args.workers,
        "n_equiv": len(EQUIV_CASES),
        "n_grade": len(GRADE_CASES),
        "totals": totals,
        "tables": report,
        "heldout_math_verify_tests": heldout,
        "elapsed_s": round(elapsed, 2),
        "equiv_seconds": {k: round(v, 2) for k, v in seconds.items() if k},
        "verifier_agreement": totals["ours"]["rate"],
        "math_verify_alone_agreement": totals["math-verify alone"]["rate"],
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2, default=str))
    os.replace(tmp, out)
    print(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")


if __name__ == "__main__":
    main()
