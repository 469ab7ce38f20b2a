"""Rejection-sampling fine-tuning: the selection rule, config errors, and a tiny end-to-end run with
resume that is bit-identical to an uninterrupted run, refusal of changed settings, and the PRM filter."""
import dataclasses
import doctest
import json

import pytest

torch = pytest.importorskip("torch")

from rl import rft  # noqa: E402


def test_doctests():
    assert doctest.testmod(rft, optionflags=doctest.ELLIPSIS).failed == 0


def test_keep_solution_needs_a_right_answer_no_false_equation_and_a_high_enough_min_step_score():
    assert rft.keep_solution(True, None, None, 0.5)
    assert not rft.keep_solution(False, None, None, 0.5)
    assert not rft.keep_solution(True, "3 + 4 = 8", None, 0.5)
    assert rft.keep_solution(True, None, [0.7, 0.5], 0.5)
    assert not rft.keep_solution(True, None, [0.7, 0.49], 0.5)


@pytest.mark.parametrize("field,value", [("samples", 0), ("engine", "tgi"), ("prm_threshold", 1.5), ("lr", 0.0)])
def test_bad_config_names_the_field(field, value):
    with pytest.raises(ValueError, match=f"RFTConfig.{field}"):
        rft.RFTConfig(**{field: value})


def _weights(path):
    from safetensors.torch import load_file

    return load_file(str(path / "model.safetensors"))


def test_run_rft_end_to_end_resume_is_bit_identical(tmp_path):
    from data.synthetic import SynthSplit
    from pipelines.cli.main import build_parser

    problems = SynthSplit().train(6)
    kw = dict(samples=2, batch_size=2, eval_every=2, heldout_n=4, max_tokens=80, engine="hf", threads=1,
              progress=False)
    out = tmp_path / "resumed"
    first = rft.run_rft(rft.RFTConfig(steps=4, **kw), problems, out)
    counts = json.loads((out / rft.KEPT).read_text())
    assert counts["sampled"] == 12 and first["kept"] == len(counts["kept"]) >= 1
    assert first["kept"] + counts["false_equation"] + counts["prm_rejected"] == counts["correct"]
    assert {"heldout_accuracy_before", "heldout_accuracy_after", "policy_dir"} <= set(first)
    assert [json.loads(x)["step"] for x in (out / "log.jsonl").read_text().splitlines()] == [2, 4]
    assert rft.run_rft(rft.RFTConfig(steps=4, **kw), problems, out)["steps_done"] == 4  # nothing to redo
    resumed = rft.run_rft(rft.RFTConfig(steps=6, **kw), problems, out)  # longer: steps 5 and 6 only
    assert resumed["steps_done"] == 6
    assert [json.loads(x)["step"] for x in (out / "log.jsonl").read_text().splitlines()] == [2, 4, 6]
    with pytest.raises(ValueError, match="lr"):
        rft.run_rft(rft.RFTConfig(steps=6, **{**kw, "lr": 1e-3}), problems, out)

    straight = tmp_path / "straight"
    rft.run_rft(rft.RFTConfig(steps=6, **kw), problems, straight)
    a, b = _weights(out / "policy"), _weights(straight / "policy")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    base = _weights(rft.Path(rft.RFTConfig().policy))
    assert any(not torch.equal(a[k], base[k]) for k in a)  # it did train

    args = build_parser().parse_args(["rft", "--out", str(out), "--prm", "gold", "--steps", "6", "--engine", "hf"])
    assert args.func.__name__ == "cmd_rft" and args.prm == "gold" and args.steps == 6


def test_prm_filter_and_nothing_kept(tmp_path):
    from data.synthetic import SynthSplit

    problems = SynthSplit().train(6)
    cfg = rft.RFTConfig(prm="gold", prm_threshold=0.5, samples=4, max_tokens=80, engine="hf", threads=1)
    selected = rft.sample_and_select(cfg, problems)
    assert len(selected["kept"]) + selected["false_equation"] + selected["prm_rejected"] == selected["correct"]
    assert selected["sampled"] == 24 and len(selected["kept"]) >= 1

    impossible = [dataclasses.replace(p, gold_answer="-987654") for p in problems]
    with pytest.raises(ValueError, match="none of the"):
        rft.run_rft(rft.RFTConfig(samples=1, steps=1, heldout_n=2, max_tokens=80, engine="hf", threads=1,
                                  progress=False), impossible, tmp_path / "none")
