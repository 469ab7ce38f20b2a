"""RL loop: advantage math, the PPO-clip and KL terms, token-to-step mapping, and a tiny end-to-end run
with checkpoints, resume and an exported policy that transformers loads."""
import json
import math

import pytest

torch = pytest.importorskip("torch")

from rl import policy_gradient as pg  # noqa: E402
from rl.config import RLConfig  # noqa: E402
from rl.policy_eval import check_problems  # noqa: E402
from rl.ppo import ppo_update  # noqa: E402
from rl.rollout import Sample, assign_rewards, tokenize_completion  # noqa: E402
from rl.trainer import resolve_device, run_rl  # noqa: E402


def test_step_advantages_exact():
    # rewards 1, 1, 0, 1, 0 over the group: mean 0.6, std sqrt(0.24); 1 -> 0.8165, 0 -> -1.2247
    adv = pg.step_advantages([[1.0, 1.0], [0.0, 1.0], [0.0]])
    hi, lo = 0.4 / 0.24 ** 0.5, -0.6 / 0.24 ** 0.5
    expected = [[2 * hi, hi], [lo + hi, hi], [lo]]
    for row, want in zip(adv, expected):
        assert row == pytest.approx(want, abs=1e-5)
    assert pg.step_advantages([[0.7, 0.7], [0.7]]) == [[0.0, 0.0], [0.0]]
    with pytest.raises(ValueError, match="sample 1"):
        pg.step_advantages([[1.0], []])


def test_outcome_and_token_advantages():
    assert pg.outcome_advantages([1.0, 0.0]) == pytest.approx([1.0, -1.0], abs=1e-5)
    assert pg.outcome_advantages([1.0, 1.0, 1.0]) == [0.0, 0.0, 0.0]
    assert pg.token_advantages([0, 0, 1, 2, 2], [3.0, 2.0, 1.0]) == [3.0, 3.0, 2.0, 1.0, 1.0]


def test_ppo_clip_behaviour():
    mask = torch.ones(1, 1)
    old = torch.zeros(1, 1)
    # ratio e^0.5 = 1.65 > 1.2: with A > 0 the clipped term wins (constant, no gradient)
    new = torch.full((1, 1), 0.5, requires_grad=True)
    loss, frac = pg.ppo_clip_loss(new, old, torch.ones(1, 1), mask, clip=0.2)
    loss.backward()
    assert float(loss.detach()) == pytest.approx(-1.2) and float(frac) == 1.0 and float(new.grad) == 0.0
    # with A < 0 the unclipped term is the smaller one: the loss keeps pushing the ratio down
    new = torch.full((1, 1), 0.5, requires_grad=True)
    loss, _ = pg.ppo_clip_loss(new, old, -torch.ones(1, 1), mask, clip=0.2)
    loss.backward()
    assert float(loss.detach()) == pytest.approx(torch.e ** 0.5, rel=1e-5) and float(new.grad) > 0
    # inside the trust region it is the plain policy gradient -ratio * A; masked tokens do not count
    new = torch.tensor([[0.1, 5.0]])
    loss, _ = pg.ppo_clip_loss(new, torch.zeros(1, 2), torch.tensor([[2.0, 9.0]]), torch.tensor([[1.0, 0.0]]))
    assert float(loss) == pytest.approx(-2.0 * torch.e ** 0.1, rel=1e-5)
    with pytest.raises(ValueError, match="clip"):
        pg.ppo_clip_loss(new, new, new, new, clip=0.0)


def test_clip_higher_lets_good_tokens_rise_further_than_bad_tokens_fall():
    mask, old = torch.ones(1, 1), torch.zeros(1, 1)
    rise = torch.log(torch.tensor(1.25))  # ratio 1.25: outside [0.8, 1.2], inside [0.8, 1.28]
    for clip_high, moves in ((None, False), (0.28, True)):
        new = torch.full((1, 1), float(rise), requires_grad=True)
        loss, frac = pg.ppo_clip_loss(new, old, torch.ones(1, 1), mask, clip=0.2, clip_high=clip_high)
        loss.backward()
        assert (float(new.grad) != 0.0) is moves and float(frac) == (0.0 if moves else 1.0)
    # the lower bound is unchanged: a bad token at ratio 0.75 gets no more push down
    new = torch.full((1, 1), float(torch.log(torch.tensor(0.75))), requires_grad=True)
    loss, _ = pg.ppo_clip_loss(new, old, -torch.ones(1, 1), mask, clip=0.2, clip_high=0.28)
    loss.backward()
    assert float(new.grad) == 0.0
    with pytest.raises(ValueError, match="clip_high"):
        pg.ppo_clip_loss(new, old, -torch.ones(1, 1), mask, clip=0.2, clip_high=0.0)


def test_kl_per_token_is_capped_so_one_rare_token_cannot_dominate_the_step():
    new = torch.tensor([[-25.0, -0.1]])
    ref = torch.tensor([[-0.01, -0.1]])
    kl = pg.kl_k3(new, ref)
    assert float(kl[0, 0]) == pg.KL_TOKEN_BOUND and float(kl[0, 1]) == 0.0
    assert float(pg.kl_k3(torch.tensor([-1.0]), torch.tensor([-0.5]))) == pytest.approx(math.exp(0.5) - 0.5 - 1.0)


def test_kl_is_zero_for_identical_policies_and_positive_otherwise():
    lp = torch.log_softmax(torch.randn(3, 5), -1)
    assert torch.equal(pg.kl_k3(lp, lp), torch.zeros(3, 5))
    assert bool((pg.kl_k3(lp, lp + 0.3) > 0).all())
    out = pg.policy_loss(lp, lp, lp, torch.zeros(3, 5), torch.ones(3, 5), kl_coef=1.0)
    assert float(out["kl"]) == 0.0 and float(out["loss"]) == 0.0
    out = pg.policy_loss(lp, lp, lp - 0.5, torch.zeros(3, 5), torch.ones(3, 5), kl_coef=2.0)
    assert float(out["loss"]) == pytest.approx(2.0 * float(out["kl"])) and float(out["kl"]) > 0


def test_tokens_map_to_steps(policy_path):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(policy_path)
    text = "12 + 3 = 15\n15 * 2 = 30. The answer is 30"
    ids, steps = tokenize_completion(tok, text, finished=True)
    assert ids[-1] == tok.eos_token_id and len(ids) == len(steps)
    newline = ids.index(tok.convert_tokens_to_ids("Ċ"))
    assert steps[: newline + 1] == [0] * (newline + 1)  # the newline closes step 0
    assert set(steps[newline + 1:]) == {1}
    assert tok.decode(ids[:-1]) == text


class _FakeScorer:
    def score_batch(self, items):
        return [[0.9] * len(steps) for _, steps in items]


def test_process_rewards_penalise_missing_answers():
    from data.records import Problem

    problem = Problem(problem_id="p", question="Q?", gold_answer="5", source="t")
    mk = lambda text, finished, has_answer: Sample(  # noqa: E731
        0, [1], [5, 6, 7], [0, 1, 1], text, text.split("\n") if text else [], finished, has_answer, has_answer)
    samples = [mk("2 + 3 = 5\nThe answer is 5", True, True), mk("2 + 3 = 5\n5 + 1 = 6", True, False),
               mk("2 + 3 = 5\n5 + 1 =", False, False), mk("", True, False)]
    cfg = RLConfig(prm="x", group_size=4, negative_scale=1.0, check_arithmetic=False)
    assign_rewards(samples, [problem], cfg, _FakeScorer())
    assert [s.step_rewards for s in samples] == [[0.9, 0.9], [0.9, 0.0], [0.9, 0.0], [0.0]]
    assert samples[0].advantages[-1] > 0 > samples[1].advantages[-1]
    assert samples[0].advantages[-1] > samples[3].advantages[-1]
    mixed = [mk("2 + 3 = 5\nThe answer is 5", True, True), mk("2 + 3 = 6\nThe answer is 6", True, True)]
    mixed[1].correct = False
    assign_rewards(mixed, [problem], RLConfig(prm="x", group_size=2, outcome_weight=1.0, check_arithmetic=False),
                      _FakeScorer())
    assert [s.step_rewards for s in mixed] == [[0.9, 1.9], [0.9, 0.9]]


def test_arithmetic_check_zeroes_false_steps_and_their_outcome():
    from data.records import Problem

    problem = Problem(problem_id="p", question="Q?", gold_answer="5", source="t")
    mk = lambda text: Sample(0, [1], [5, 6], [0, 1], text, text.split("\n"), True, True, True)  # noqa: E731
    lucky, clean = mk("2 + 4 = 5\nThe answer is 5"), mk("2 + 3 = 5\nThe answer is 5")
    assign_rewards([lucky, clean], [problem], RLConfig(prm="x", group_size=2, outcome_weight=1.0,
                                                            check_arithmetic=True), _FakeScorer())
    assert lucky.false_steps == [0] and clean.false_steps == []
    assert [lucky.step_rewards, clean.step_rewards] == [[0.0, 0.9], [0.9, 1.9]]
    assign_rewards([lucky, clean], [problem], RLConfig(reward="outcome", group_size=2, check_arithmetic=False),
                      None)
    assert lucky.advantages == clean.advantages == [0.0, 0.0]  # without the check both count as correct
    assign_rewards([lucky, clean], [problem], RLConfig(reward="outcome", group_size=2, check_arithmetic=True,
                                                            negative_scale=0.5), None)
    assert [lucky.step_rewards, clean.step_rewards] == [[0.0], [1.0]]
    assert clean.advantages[0] == pytest.approx(1.0, abs=1e-4)
    assert lucky.advantages[0] == pytest.approx(-0.5, abs=1e-4)  # the negative half, scaled


def test_stratified_order_spreads_each_group_over_minibatches():
    import random

    groups = [g for g in range(16) for _ in range(8)] + [16, 16]  # 16 groups of 8, one group of 2
    order = pg.stratified_order(groups, random.Random(3))
    assert sorted(order) == list(range(len(groups)))
    for k in range(0, 128, 16):  # every minibatch of 16 holds 16 different problems
        assert len({groups[i] for i in order[k:k + 16]}) == 16
    assert order != pg.stratified_order(groups, random.Random(4))


def test_drop_zero_advantage_trains_exactly_as_if_those_samples_were_absent(policy_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(policy_path)
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id

    def sample(group, text, advantage):
        ids, steps = tokenize_completion(tok, text, finished=True)
        s = Sample(group, tok("Q?\n")["input_ids"], ids, steps, text, text.split("\n"), True, True, True)
        s.advantages = [advantage] * len(ids)
        return s

    pushing = [sample(0, "2 + 3 = 5. The answer is 5", 1.0), sample(1, "4 * 2 = 8. The answer is 8", 0.5)]
    flat = [sample(2, "7 - 1 = 6. The answer is 6", 0.0)]

    def trained(samples, drop):
        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_pretrained(policy_path, dtype=torch.float32)
        ref = AutoModelForCausalLM.from_pretrained(policy_path, dtype=torch.float32)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        cfg = RLConfig(reward="outcome", group_size=2, ppo_epochs=2, minibatch_size=2, kl_coef=0.1,
                          drop_zero_advantage=drop)
        parts = ppo_update(model, ref, opt, samples, cfg, 0, pad)
        return parts["trained_samples"], torch.cat([p.detach().flatten() for p in model.parameters()])

    n_drop, with_drop = trained(pushing + flat, True)
    n_alone, alone = trained(pushing, False)
    n_kept, kept = trained(pushing + flat, False)
    assert (n_drop, n_alone, n_kept) == (2, 2, 3)
    assert torch.equal(with_drop, alone)
    assert not torch.equal(kept, alone)  # without the option the flat sample still moves the weights
    assert trained(flat, True)[0] == 0


def test_config_errors_name_the_field():
    with pytest.raises(ValueError, match="RLConfig.reward"):
        RLConfig(reward="bogus")
    with pytest.raises(ValueError, match="RLConfig.prm"):
        RLConfig(reward="process", prm="")
    with pytest.raises(ValueError, match="RLConfig.group_size"):
        RLConfig(reward="outcome", group_size=1)
    with pytest.raises(ValueError, match="RLConfig.negative_scale: -1.0 is out of range"):
        RLConfig(reward="outcome", negative_scale=-1.0)
    with pytest.raises(ValueError, match="RLConfig.device.*'auto', 'cpu', 'cuda' or 'cuda:N'"):
        RLConfig(reward="outcome", device="tpu")


def test_cli_defaults_are_the_config_defaults():
    from dataclasses import fields

    from pipelines.cli.main import build_parser

    args = vars(build_parser().parse_args(["rl", "--out", "x"]))
    defaults = {f.name: f.default for f in fields(RLConfig)}
    shared = [name for name in defaults if name in args and name not in ("policy", "prm", "progress", "prompt_format")]
    assert len(shared) >= 20
    assert {name: args[name] for name in shared} == {name: defaults[name] for name in shared}
    assert args["n_train"] == 4000
    off = vars(build_parser().parse_args(["rl", "--out", "x", "--no-stratify", "--no-check-arithmetic",
                                          "--no-drop-zero-advantage"]))
    assert not (off["stratify"] or off["check_arithmetic"] or off["drop_zero_advantage"])


def test_device_is_resolved_and_not_part_of_the_run_identity():
    import torch

    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="sees no CUDA GPU"):
            resolve_device("cuda:0")
    on_cpu, on_gpu = RLConfig(reward="outcome", device="cpu"), RLConfig(reward="outcome", device="cuda")
    assert on_cpu.identity() == on_gpu.identity()  # a run started on a GPU resumes on a CPU and back


def test_heldout_problems_are_refused():
    from data.synthetic import SynthSplit

    with pytest.raises(ValueError, match="held-out"):
        check_problems(SynthSplit().heldout(3), SynthSplit().heldout(10))


@pytest.fixture(scope="module")
def fixture_prm(tmp_path_factory):
    from prm_training.prm_fixtures import make_tiny_base, write_label_fixture
    from prm_training.prm_trainer import PRMTrainConfig, train_prm

    root = tmp_path_factory.mktemp("rl_prm")
    base = make_tiny_base(root / "base")
    labels = write_label_fixture(root / "labels", n_problems=4, traces_per_problem=2)
    train_prm(labels, root / "prm", PRMTrainConfig(base_model=str(base), epochs=1, batch_size=8, val_fraction=0.0,
                                                   num_threads=1), progress=False)
    return str(root / "prm")


def test_run_rl_end_to_end_resume_and_export(fixture_prm, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from data.synthetic import SynthSplit
    from pipelines.cli.main import build_parser

    problems = SynthSplit().train(4)
    # the settings of runs saved before clip_high ... drop_zero_advantage existed (see the legacy check below)
    legacy = dict(clip_high=0.0, negative_scale=1.0, check_arithmetic=False, stratify=False, drop_zero_advantage=False)
    kw = dict(prm=fixture_prm, reward="process", group_size=2, problems_per_iteration=2, lr=1e-4, heldout_n=6,
              eval_every=1, max_tokens=80, progress=False, **legacy)
    out = tmp_path / "rl"
    summary = run_rl(RLConfig(iterations=2, **kw), problems, out)
    for key in ("heldout_accuracy_before", "heldout_accuracy_after", "reward", "config"):
        assert key in summary, key
    assert summary["iterations_done"] == 2 and summary["samples"] == 8
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["heldout_accuracy_after"] == summary["heldout_accuracy_after"]
    log = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
    assert [x["iteration"] for x in log] == [1, 2]
    assert all({"reward", "kl", "loss", "heldout_accuracy"} <= set(x) for x in log)
    assert (out / "checkpoints" / "iter-2" / "state.json").exists()

    again = run_rl(RLConfig(iterations=2, **kw), problems, out)  # the same command: nothing to redo
    assert again["status"] == "already finished"
    more = run_rl(RLConfig(iterations=3, **kw), problems, out)  # longer: only iteration 3 runs
    log = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
    assert [x["iteration"] for x in log] == [1, 2, 3] and more["iterations_done"] == 3
    assert log[:2] == [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()][:2]
    with pytest.raises(ValueError, match="lr"):
        run_rl(RLConfig(iterations=3, **{**kw, "lr": 1e-3}), problems, out)
    for field_name, value in (("clip_high", 0.28), ("negative_scale", 0.0), ("check_arithmetic", True),
                              ("stratify", True), ("drop_zero_advantage", True)):
        with pytest.raises(ValueError, match=field_name):
            run_rl(RLConfig(iterations=3, **{**kw, field_name: value}), problems, out)
    state_file = out / "checkpoints" / "iter-3" / "state.json"  # a run saved before these options existed
    state = json.loads(state_file.read_text())
    for field_name in ("clip_high", "negative_scale", "check_arithmetic", "stratify", "drop_zero_advantage"):
        del state["config"][field_name]
    state_file.write_text(json.dumps(state))
    assert run_rl(RLConfig(iterations=3, **kw), problems, out)["status"] == "already finished"

    policy = out / "policy"
    assert (policy / "model.safetensors").exists() and (policy / "tokenizer.json").exists()
    model = AutoModelForCausalLM.from_pretrained(str(policy))
    tok = AutoTokenizer.from_pretrained(str(policy))
    gen = model.generate(**tok(problems[0].question + "\n", return_tensors="pt"), max_new_tokens=5, do_sample=False)
    assert gen.shape[1] > 0

    args = build_parser().parse_args(["rl", "--prm", fixture_prm, "--out", str(out), "--group-size", "2",
                                      "--reward", "outcome", "--kl-coef", "0.1"])
    assert args.func.__name__ == "cmd_rl" and args.group_size == 2 and args.kl_coef == 0.1


class _ScriptedEngine:
    """Continues any prefix of the chain below with its right completion, except after the wrong '= 47'."""

    name = "scripted"

    def __init__(self):
        from engines.base import EngineStats

        self.stats = EngineStats()
        self.calls = 0

    def generate(self, requests):
        from engines.base import Completion

        self.calls += 1
        out = []
        for r in requests:
            done = r.prompt.count("\n") - 1  # steps already in the prompt
            rest = ["46 / 2 = 23", "23 * 4 = 92. The answer is 92"][done - 1:] if "= 47" not in r.prompt else \
                ["47 / 2 = 24", "24 * 4 = 96. The answer is 96"][done - 1:]
            out.append([Completion("\n".join(rest), 10, "stop") for _ in range(r.n)])
        return out


def test_monte_carlo_scorer_labels_each_sample_online():
    from data.records import Problem
    from labelers.rounds import LabelConfig
    from rl.mc_reward import MonteCarloStepScorer

    question = "Ann has 31 cards. Ann gets 15 more cards. Ann splits the cards into 2 equal groups and keeps one group. " \
               "Ann ends up with 4 times as many cards. How many cards does Ann have now?"
    problem = Problem("p", question, "92", "synthetic",
                      ["31 + 15 = 46", "46 / 2 = 23", "23 * 4 = 92. The answer is 92"])
    engine = _ScriptedEngine()
    scorer = MonteCarloStepScorer([problem], engine, LabelConfig(strategy="full", rollouts=2))
    good = ["31 + 15 = 46", "46 / 2 = 23", "23 * 5 = 115. The answer is 115"]
    bad = ["31 + 15 = 47", "47 / 2 = 24", "24 * 4 = 96. The answer is 96"]
    assert scorer.score_batch([(question, good), (question, bad)]) == [[1.0, 1.0, 0.0], [0.0, 0.0, 0.0]]
    assert engine.calls == 1 and scorer.rollouts == 2 * 2 * 2  # one batched call: 2 open prefixes x 2 samples x 2
    with pytest.raises(ValueError, match="unknown question"):
        scorer.score_batch([("another question?", good)])
    soft = MonteCarloStepScorer([problem], _ScriptedEngine(), LabelConfig(strategy="full", rollouts=2), "soft")
    assert soft.score(question, good) == [1.0, 1.0, 0.0]


def test_run_rl_with_monte_carlo_process_rewards(tmp_path):
    from data.synthetic import SynthSplit

    cfg = RLConfig(prm="mc", reward="process", iterations=1, group_size=2, problems_per_iteration=2, heldout_n=4,
                      eval_every=1, max_tokens=80, mc_rollouts=2, progress=False)
    summary = run_rl(cfg, SynthSplit().train(4), tmp_path / "rl")
    log = [json.loads(x) for x in (tmp_path / "rl" / "log.jsonl").read_text().splitlines()]
    assert summary["mc_rollouts"] == log[0]["mc_rollouts"] >= 0 and summary["samples"] == 4
    assert summary["config"]["prm"] == "mc"  # a keyword, not resolved as a path
