"""The cost model of ``prm-factory estimate``: exact projection math, and one small real pilot on vLLM."""
import json

import pytest

from pipelines.estimate import PilotMeasure, project, project_structure


def test_rates_from_counters():
    m = PilotMeasure("full", traces=40, steps=130, rollouts=650, generated_tokens=19500, wall_s=10.0, generate_s=6.5)
    assert m.steps_per_trace == 3.25
    assert m.rollouts_per_step == 5.0
    assert m.tokens_per_rollout == 30.0
    assert m.engine_tokens_per_s == 3000.0


def test_projection_exact_numbers():
    m = PilotMeasure("binary", traces=50, steps=200, rollouts=300, generated_tokens=15000)
    p = project(m, dataset_traces=240_000, tokens_per_s_per_gpu=6000.0, gpus=8)
    assert (p.steps, p.rollouts, p.generated_tokens) == (960_000, 1_440_000, 72_000_000)
    assert p.engine_hours == pytest.approx(72_000_000 / 6000 / 3600)  # 3.333... GPU-hours
    assert p.wall_hours == pytest.approx(p.engine_hours / 8)
    slower = project(m, 240_000, 6000.0, gpus=8, efficiency=0.5)
    assert slower.engine_hours == p.engine_hours and slower.wall_hours == pytest.approx(2 * p.wall_hours)


def test_projection_scales_linearly_and_validates():
    m = PilotMeasure("adaptive", traces=10, steps=35, rollouts=70, generated_tokens=2100)
    a, b = project(m, 1000, 1000.0), project(m, 2000, 1000.0)
    assert b.generated_tokens == 2 * a.generated_tokens and b.engine_hours == pytest.approx(2 * a.engine_hours)
    for bad in (dict(tokens_per_s_per_gpu=0), dict(gpus=0), dict(efficiency=1.5)):
        with pytest.raises(ValueError):
            project(m, 1000, **{"tokens_per_s_per_gpu": 1000.0, **bad})


def test_project_structure_matches_project():
    p = project_structure("full", 240_000, 4.0, 7.0, 100.0, 5000.0, gpus=8)
    assert (p.steps, p.rollouts, p.generated_tokens) == (960_000, 6_720_000, 672_000_000)
    assert p.engine_hours == pytest.approx(672_000_000 / 5000 / 3600)


def test_pilot_on_real_vllm(tmp_path, hf_engine, policy_path):
    """A real pilot: 4 synthetic problems x 2 traces, full and binary, the vllm engine on a local Ray."""
    import ray

    from data.synthetic import SynthSplit
    from pipelines.cli.main import main
    from pipelines.generate import GenerateConfig, generate_traces

    generate_traces(hf_engine, SynthSplit().heldout(4), tmp_path / "gen", "tiny_policy",
                    GenerateConfig(samples=2), progress=False)
    try:
        code = main(["estimate", "--traces", str(tmp_path / "gen" / "traces"), "--out", str(tmp_path / "est"),
                     "--pilot", "6", "--strategies", "full,binary", "--rollouts", "2", "--max-tokens", "60",
                     "--dataset-traces", "1000", "--tokens-per-s-per-gpu", "2000", "--gpus", "2", "--no-progress",
                     "--policy", policy_path])
    finally:
        ray.shutdown()
    assert code == 0
    report = json.loads((tmp_path / "est" / "estimate.json").read_text())
    assert report["pilot_traces"] == 6 and report["dataset_traces"] == 1000
    pilots = {m["strategy"]: m for m in report["pilot"]}
    assert pilots["full"]["traces"] == pilots["binary"]["traces"] == 6
    assert pilots["full"]["rollouts"] > 0 and pilots["full"]["generated_tokens"] > 0
    assert pilots["binary"]["rollouts"] <= pilots["full"]["rollouts"]
    for proj in report["projections"]:
        m = pilots[proj["strategy"]]
        expected = PilotMeasure(proj["strategy"], m["traces"], m["steps"], m["rollouts"], m["generated_tokens"])
        assert proj["generated_tokens"] == project(expected, 1000, 2000.0, 2).generated_tokens
        assert proj["engine_hours"] == pytest.approx(proj["generated_tokens"] / 2000.0 / 3600)


def test_docstring_examples():
    """tests/test_doctests.py lists its modules; the estimate module's examples run here."""
    import doctest

    import pipelines.estimate

    result = doctest.testmod(pipelines.estimate, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
