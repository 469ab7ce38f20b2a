"""Grading works wherever Python runs (stdin, ``-c``, unguarded scripts), or raises: never a silent verdict."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from verifiers import VerifierPool, VerifierUnavailable, grade_many
from verifiers.pool import TaskResult

ROOT = Path(__file__).resolve().parents[1]
# A pair that only sympy decides (a trigonometric identity), so it must reach a worker.
SYMPY_PAIR = ("The answer is $\\sin^2 x$", "1-\\cos^2 x")
GRADE_CODE = textwrap.dedent(
    f"""
    import json
    from verifiers import grade, shared_pool
    v = grade({SYMPY_PAIR[0]!r}, {SYMPY_PAIR[1]!r})
    w = grade("The answer is $x^2$", "\\\\sin x")
    print(json.dumps([v.status, w.status, shared_pool().stats.tasks]))
    """
)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _last_json(stdout: str) -> object:
    return json.loads(stdout.strip().splitlines()[-1])


def test_grade_from_standard_input_works(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-"], input=GRADE_CODE, capture_output=True, text=True,
                         cwd=tmp_path, env=_env(), timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert _last_json(out.stdout) == ["correct", "incorrect", 2]  # both pairs reached a worker


def test_grade_from_python_c_works(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", GRADE_CODE], capture_output=True, text=True,
                         cwd=tmp_path, env=_env(), timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert _last_json(out.stdout) == ["correct", "incorrect", 2]


def test_an_unguarded_script_works_and_is_not_rerun(tmp_path: Path) -> None:
    marker = tmp_path / "runs.txt"
    script = tmp_path / "grade_script.py"
    script.write_text(f"with open({str(marker)!r}, 'a') as f:\n    f.write('run\\n')\n" + GRADE_CODE)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path,
                         env=_env(), timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert _last_json(out.stdout) == ["correct", "incorrect", 2]
    assert marker.read_text() == "run\n"  # the workers never re-imported the script


def test_no_worker_can_start_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    import verifiers.launch as launch

    monkeypatch.setattr(launch.sys, "executable", "/nonexistent/python")
    pool = VerifierPool(size=1, start_method="spawn")
    try:
        assert grade_many([("The answer is 5", "5")], pool=pool)[0].correct  # the fast path needs no worker
        with pytest.raises(VerifierUnavailable, match="no verifier worker process could be started"):
            grade_many([SYMPY_PAIR], pool=pool)
    finally:
        pool.close()


def test_workers_that_die_at_start_up_raise(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import verifiers.launch as launch

    broken = tmp_path / "verifiers"  # shadows the package in the workers: they exit at import
    broken.mkdir()
    (broken / "__init__.py").write_text("raise ImportError('a broken install')\n")
    paths = launch._child_paths()
    monkeypatch.setattr(launch, "_child_paths", lambda: [str(tmp_path)] + paths)
    pool = VerifierPool(size=1, start_method="spawn")
    try:
        with pytest.raises(VerifierUnavailable, match="exited during start-up"):
            pool.run([("pid", ())], timeout=5)
        assert pool.stats.start_failures > 3
    finally:
        pool.close()


class _CrashingPool:
    """Stands for a pool whose worker died on the task twice."""

    def run(self, tasks, timeout, workers=None, keys=None):
        return [TaskResult("crash", "the worker died on this input")] * len(tasks)


def test_a_task_whose_worker_died_is_an_error_not_a_verdict() -> None:
    v = grade_many([SYMPY_PAIR], pool=_CrashingPool())[0]  # type: ignore[arg-type]
    assert v.status == "error" and not v.correct and "died" in v.detail
