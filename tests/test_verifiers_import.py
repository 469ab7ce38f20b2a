"""`import verifiers` is fast and light, checked in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "vllm", "ray", "sympy", "math_verify", "latex2sympy2_extended")


def test_import_is_fast_and_light() -> None:
    code = (
        "import sys, time, json; t = time.perf_counter(); import verifiers; "
        "dt = time.perf_counter() - t; "
        f"print(json.dumps([dt, [m for m in {HEAVY!r} if m in sys.modules]]))"
    )
    best = None
    for _ in range(3):  # take the best of three: the 2 cores are shared
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
        dt, heavy = json.loads(out.stdout.strip().splitlines()[-1])
        assert heavy == [], heavy
        best = dt if best is None else min(best, dt)
    assert best < 1.0, best


def test_extract_and_fast_path_do_not_load_sympy() -> None:
    code = (
        "import sys, json; from verifiers import extract_answer, grade; "
        "v = grade('23 + 15 = 38\\n38 * 2 = 76. The answer is 76', '76'); "
        "w = grade('The answer is 1/2', '0.5'); "
        "print(json.dumps([v.status, w.status, 'sympy' in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == ["correct", "correct", False]
