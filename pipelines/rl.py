"""``prm-factory rl``: PPO-clip RL of the policy with process rewards from a PRM (or outcome rewards).

One iteration: take ``problems_per_iteration`` training problems, sample ``group_size`` solutions
of each from the policy being trained (batched HF ``generate`` through ``HFEngine.from_model``),
split them into steps (one per line), reward them, turn rewards into per-token advantages
(``prm_training.policy_gradient``), and take ``ppo_epochs`` passes of PPO-clip + k3 KL to the
frozen starting policy. Log-probabilities are those of the policy at ``temperature`` (logits / T), the
distribution the samples came from; its greedy decoding is the model's.

Rewards:
- ``process``: the PRM's P(good) of every step. A solution that states no final answer, or was cut
  at ``max_tokens``, gets ``no_answer_reward`` (0.0, the lowest P(good)) as its last step's reward,
  and an empty solution gets that single reward. Without this a process reward can be hacked: a short
  solution of one plausible step, or one that never commits to an answer, scores as well as a correct
  one, and the sum-of-later-rewards advantage would then favour stopping early.
- ``outcome``: 1 if the verifier finds the gold answer, else 0, the same advantage on every token.
- ``process`` with ``outcome_weight`` w > 0: the last step's reward also gets ``w * outcome`` (a
  process + outcome mix; the sum-of-later-rewards advantage carries it to every token).

Files in ``out_dir``: ``log.jsonl`` (one line per iteration: reward, KL, loss, train accuracy, and
``heldout_accuracy`` every ``eval_every`` iterations), ``checkpoints/iter-N/`` (weights, optimizer,
RNG, ``state.json`` written last; a rerun of the same command resumes after the last one),
``policy/`` (the final HF checkpoint, for transformers and vLLM) and ``summary.json``.

>>> step_of_chars("a = 1\\n\\nb = 2")
[0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
"""
from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

from data.records import Problem, seed_from

from pipelines.checkpoints import STATE, TRAINER, latest_checkpoint, read_log, save_checkpoint
from pipelines.mc_reward import MC_PRM  # Monte Carlo step labels of each sample, drawn online from the policy

REWARDS = ("process", "outcome")
GOLD_PRM = "gold"  # the oracle PRM of the synthetic task (prm_training.oracle_scorer): a ceiling, not a model
# Changing any of these makes an existing out_dir a different run.
IDENTITY_FIELDS = ("policy", "prm", "reward", "group_size", "problems_per_iteration", "lr", "clip", "kl_coef",
                   "ppo_epochs", "minibatch_size", "temperature", "max_tokens", "seed", "heldout_n",
                   "no_answer_reward", "outcome_weight", "grad_clip", "clip_high", "negative_scale", "check_arithmetic",
                   "stratify", "drop_zero_advantage")
# Fields added later, and the value that runs saved before them used.
IDENTITY_DEFAULTS = {"clip_high": 0.0, "negative_scale": 1.0, "check_arithmetic": False, "stratify": False,
                     "drop_zero_advantage": False}


@dataclass
class RLConfig:
    policy: str = ""  # HF checkpoint of the starting (and reference) policy; "" = the embedded tiny policy
    prm: str = ""  # PRM checkpoint (prm-factory train-prm), or "gold" (exact synthetic step labels); for "process"
    reward: str = "process"  # "process" (PRM step rewards) or "outcome" (verifier, 1/0)
    # The defaults are session 7's recipe: +7.2 points with process rewards over 5 seeds (docs/rl.md).
    group_size: int = 4  # G samples per problem
    iterations: int = 25
    problems_per_iteration: int = 256
    lr: float = 1e-4
    clip: float = 0.2
    clip_high: float = 0.0  # upper clip of the ratio (DAPO's clip-higher); 0 = the same as ``clip``
    negative_scale: float = 0.0  # multiplies negative advantages; 1 = plain GRPO, 0 = only positive ones push
    kl_coef: float = 0.02
    ppo_epochs: int = 4
    minibatch_size: int = 64  # samples per optimizer step
    # Minibatches hold one sample of each problem before a second (policy_gradient.stratified_order), not a
    # plain shuffle: several samples of one problem in one step over-fit that problem's arithmetic.
    stratify: bool = True
    # Samples whose every token advantage is 0 (a group that all scored alike; with negative_scale 0, every
    # sample at or below its group's mean) leave the update, so minibatches hold only samples that push
    # (DAPO's dynamic sampling, per sample). They would add only the KL term.
    drop_zero_advantage: bool = True
    temperature: float = 0.7
    max_tokens: int = 200
    seed: int = 0
    heldout_n: int = 300  # held-out synthetic problems for greedy accuracy (never trained on)
    eval_every: int = 5  # held-out accuracy every N iterations (and always after the last)
    checkpoint_every: int = 1
    threads: int = 1
    # Where the policy, the reference and the PPO update live: "auto" (CUDA when torch sees a GPU, else CPU),
    # "cpu", "cuda" or "cuda:N". Not part of the run's identity: a run started on one device resumes on another.
    device: str = "auto"
    no_answer_reward: float = 0.0  # last-step reward of a solution with no final answer (process)
    outcome_weight: float = 0.0  # process: add this times the verifier outcome (1/0) to the last step's reward
    # A false equation of the sample's own (verifiers.arithmetic) makes its outcome 0 and, for process
    # rewards, its step's reward 0, as the labeler's arithmetic check does for continuations.
    check_arithmetic: bool = True
    grad_clip: float = 1.0
    prm_batch_size: int = 32
    mc_strategy: str = "binary"  # --prm mc: how each sample is labeled online (see `prm-factory label`)
    mc_rollouts: int = 4  # --prm mc: continuations per probed prefix
    progress: bool = True

    def __post_init__(self):
        if not self.policy:
            from data.assets import default_policy_path

            self.policy = str(default_policy_path())
        checks = {
            "reward": self.reward in REWARDS, "group_size": self.group_size >= 2, "iterations": self.iterations >= 0,
            "problems_per_iteration": self.problems_per_iteration >= 1, "lr": self.lr > 0, "clip": self.clip > 0,
            "clip_high": self.clip_high >= 0, "negative_scale": self.negative_scale >= 0,
            "kl_coef": self.kl_coef >= 0, "ppo_epochs": self.ppo_epochs >= 1,
            "minibatch_size": self.minibatch_size >= 1,
            "temperature": self.temperature > 0, "max_tokens": self.max_tokens >= 1, "heldout_n": self.heldout_n >= 1,
            "eval_every": self.eval_every >= 1, "checkpoint_every": self.checkpoint_every >= 1,
            "threads": self.threads >= 1, "device": self.device == "auto" or self.device.split(":")[0] in ("cpu", "cuda"),
            "prm": self.reward != "process" or bool(self.prm),
        }
        bad = [k for k, ok in checks.items() if not ok]
        if bad:
            name = bad[0]
            hint = {"reward": f"one of {REWARDS}", "group_size": ">= 2 (advantages are relative to the group)",
                    "prm": "a PRM checkpoint path (needed for reward='process')",
                    "device": "'auto', 'cpu', 'cuda' or 'cuda:N'"}.get(name, "out of range")
            raise ValueError(f"RLConfig.{name}: {getattr(self, name)!r} is invalid; expected {hint}")

    def identity(self) -> dict[str, Any]:
        d = asdict(self)
        for key in ("policy", "prm"):
            d[key] = str(Path(d[key]).resolve()) if d[key] and d[key] not in (GOLD_PRM, MC_PRM) else d[key]
        return {k: d[k] for k in IDENTITY_FIELDS}


@dataclass
class Sample:
    """One sampled solution, its tokens and its reward signal."""

    group: int
    prompt_ids: list[int]
    completion_ids: list[int]
    step_of_token: list[int]
    text: str
    steps: list[str]
    finished: bool
    correct: bool = False
    has_answer: bool = False
    false_steps: list[int] = field(default_factory=list)  # steps holding a false equation (check_arithmetic)
    step_rewards: list[float] = field(default_factory=list)
    advantages: list[float] = field(default_factory=list)


def step_of_chars(text: str) -> list[int]:
    """The step (0-based non-empty line) each character belongs to; a newline ends its own line's step,
    blank lines belong to the step before them (the first step if none)."""
    out: list[int] = []
    step = -1
    for line in text.split("\n"):
        if line.strip():
            step += 1
        out.extend([max(step, 0)] * len(line))
        out.append(max(step, 0))  # its newline
    return out[: len(text)]


def tokenize_completion(tokenizer, text: str, finished: bool) -> tuple[list[int], list[int]]:
    """Completion token ids (plus EOS when the policy stopped) and the step index of each token."""
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    chars = step_of_chars(text)
    last = chars[-1] if chars else 0
    steps = [chars[start] if start < len(chars) else last for start, _ in enc["offset_mapping"]]
    ids = list(enc["input_ids"])
    if finished:
        ids.append(tokenizer.eos_token_id)
        steps.append(last)
    return ids, steps


def problem_schedule(n_problems: int, per_iteration: int, iteration: int, seed: int) -> list[int]:
    """Indices of the problems of one iteration: consecutive slices of a seeded permutation, wrapping around.

    >>> problem_schedule(5, 2, 0, seed=0) + problem_schedule(5, 2, 1, seed=0) + problem_schedule(5, 2, 2, seed=0)
    [2, 1, 0, 4, 3, 2]
    """
    order = list(range(n_problems))
    random.Random(seed).shuffle(order)
    return [order[(iteration * per_iteration + j) % n_problems] for j in range(per_iteration)]


def greedy_accuracy(model, tokenizer, problems: Sequence[Problem], max_tokens: int) -> float:
    """Held-out greedy accuracy of the in-memory model (``policy_eval.policy_accuracy`` on an HF engine)."""
    from pipelines.engines.hf_engine import HFEngine
    from pipelines.policy_eval import policy_accuracy

    engine = HFEngine.from_model(model, tokenizer)
    return policy_accuracy(engine, problems, temperature=0.0, max_tokens=max_tokens)


def rollout(model, tokenizer, problems: Sequence[Problem], cfg: RLConfig, iteration: int) -> list[Sample]:
    """``group_size`` samples of each problem from the model being trained, split into steps and graded."""
    from data.prompt_format import build_prompt
    from labelers.step_split import split_steps
    from pipelines.engines.base import GenRequest
    from pipelines.engines.hf_engine import HFEngine
    from verifiers import grade_many

    engine = HFEngine.from_model(model, tokenizer)
    prompts = [build_prompt(p.question) for p in problems]
    requests = [GenRequest(prompt, n=cfg.group_size, temperature=cfg.temperature, max_tokens=cfg.max_tokens,
                           seed=seed_from("rl", cfg.seed, iteration, p.problem_id))
                for prompt, p in zip(prompts, problems)]
    outputs = engine.generate(requests)
    samples = []
    for g, (prompt, completions) in enumerate(zip(prompts, outputs)):
        prompt_ids = tokenizer(prompt)["input_ids"]
        for c in completions:
            finished = c.finish_reason == "stop"
            ids, steps_of = tokenize_completion(tokenizer, c.text, finished)
            samples.append(Sample(g, prompt_ids, ids, steps_of, c.text, split_steps(c.text), finished))
    verdicts = grade_many([(s.text, problems[s.group].gold_answer) for s in samples])
    for s, v in zip(samples, verdicts):
        s.correct, s.has_answer = bool(v.correct), v.extracted is not None
    return samples


def outcome_reward(sample: Sample) -> float:
    """1.0 when the verifier accepts the answer and no step holds a false equation, else 0.0."""
    return 1.0 if sample.correct and not sample.false_steps else 0.0


def assign_rewards(samples: list[Sample], problems: Sequence[Problem], cfg: RLConfig, scorer) -> None:
    """Fill ``step_rewards`` and per-token ``advantages`` of every sample, group by group."""
    from prm_training.policy_gradient import outcome_advantages, scale_negative, step_advantages, token_advantages
    from verifiers.arithmetic import false_equation

    for s in samples:
        s.false_steps = [i for i, step in enumerate(s.steps) if false_equation(step)] if cfg.check_arithmetic else []
    if cfg.reward == "process":
        scored = [s for s in samples if s.steps]
        scores = scorer.score_batch([(problems[s.group].question, s.steps) for s in scored]) if scored else []
        for s, sc in zip(scored, scores):
            s.step_rewards = list(sc)
        for s in samples:
            if not s.step_rewards:
                s.step_rewards = [cfg.no_answer_reward]
            elif not (s.has_answer and s.finished):
                s.step_rewards[-1] = cfg.no_answer_reward
            for i in s.false_steps:
                s.step_rewards[i] = 0.0
            if cfg.outcome_weight:
                s.step_rewards[-1] += cfg.outcome_weight * outcome_reward(s)
    else:
        for s in samples:
            s.step_rewards = [outcome_reward(s)]
    groups: dict[int, list[Sample]] = {}
    for s in samples:
        groups.setdefault(s.group, []).append(s)
    for group in groups.values():
        if cfg.reward == "process":
            step_adv = step_advantages([s.step_rewards for s in group])
        else:
            step_adv = [[a] for a in outcome_advantages([s.step_rewards[0] for s in group])]
        for s, adv in zip(group, step_adv):
            s.advantages = token_advantages(s.step_of_token, scale_negative(adv, cfg.negative_scale))


def _collate(samples: Sequence[Sample], pad_id: int):
    """Right-padded ``input_ids`` and ``attention_mask``; the completion mask and advantages of the shifted targets."""
    import torch

    seqs = [s.prompt_ids + s.completion_ids for s in samples]
    width = max(len(x) for x in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    attn = torch.zeros((len(seqs), width), dtype=torch.long)
    mask = torch.zeros((len(seqs), width - 1))
    adv = torch.zeros((len(seqs), width - 1))
    for i, (s, seq) in enumerate(zip(samples, seqs)):
        ids[i, : len(seq)] = torch.tensor(seq)
        attn[i, : len(seq)] = 1
        start, end = len(s.prompt_ids) - 1, len(seq) - 1  # target t+1 is predicted at position t
        mask[i, start:end] = 1.0
        adv[i, start:end] = torch.tensor(s.advantages, dtype=torch.float32)
    return ids, attn, mask, adv


def _logprobs(model, samples: Sequence[Sample], pad_id: int, temperature: float, batch: int = 64):
    import torch

    from prm_training.policy_gradient import token_logprobs

    device = next(model.parameters()).device
    out = []
    with torch.no_grad():
        for k in range(0, len(samples), batch):
            ids, attn, _, _ = _collate(samples[k:k + batch], pad_id)
            out.extend(token_logprobs(model, ids.to(device), attn.to(device), temperature))
    return out  # one [T-1] tensor per sample (width of its chunk)


def ppo_update(model, ref_model, optimizer, samples: list[Sample], cfg: RLConfig, iteration: int, pad_id: int) -> dict:
    """``ppo_epochs`` passes of PPO-clip + k3 KL over shuffled minibatches; the means of the logged terms."""
    import torch

    from prm_training.policy_gradient import policy_loss, stratified_order, token_logprobs

    samples = [s for s in samples if s.completion_ids and (not cfg.drop_zero_advantage or any(s.advantages))]
    device = next(model.parameters()).device
    if not samples:
        return {"loss": 0.0, "pg_loss": 0.0, "kl": 0.0, "clip_fraction": 0.0, "trained_samples": 0}
    old = _logprobs(model, samples, pad_id, cfg.temperature)
    ref = _logprobs(ref_model, samples, pad_id, cfg.temperature)
    sums: dict[str, float] = {}
    steps = 0
    rng = random.Random(seed_from("rl-minibatch", cfg.seed, iteration))
    for _ in range(cfg.ppo_epochs):
        if cfg.stratify:
            order = stratified_order([s.group for s in samples], rng)
        else:
            order = list(range(len(samples)))
            rng.shuffle(order)
        for k in range(0, len(order), cfg.minibatch_size):
            idx = order[k:k + cfg.minibatch_size]
            batch = [samples[i] for i in idx]
            ids, attn, mask, adv = (t.to(device) for t in _collate(batch, pad_id))
            width = ids.shape[1] - 1
            lp_old = torch.stack([_fit(old[i], width) for i in idx])
            lp_ref = torch.stack([_fit(ref[i], width) for i in idx])
            lp_new = token_logprobs(model, ids, attn, cfg.temperature)
            parts = policy_loss(lp_new, lp_old, lp_ref, adv, mask, clip=cfg.clip, kl_coef=cfg.kl_coef,
                                 clip_high=cfg.clip_high or None)
            optimizer.zero_grad(set_to_none=True)
            parts["loss"].backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            for key, value in parts.items():
                sums[key] = sums.get(key, 0.0) + float(value.detach())
            steps += 1
    return {**{k: v / steps for k, v in sums.items()}, "trained_samples": len(samples)}


def _fit(row, width: int):
    """A 1-D tensor padded with zeros or cut to ``width``."""
    import torch

    return torch.nn.functional.pad(row, (0, max(0, width - len(row))))[:width]


def _write_log(path: Path, lines: list[dict]) -> None:
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))


def export_policy(model, policy_src: str, out: Path) -> Path:
    """The trained weights as a standard HF checkpoint (safetensors, config, generation config, tokenizer)."""
    from transformers import AutoTokenizer

    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    AutoTokenizer.from_pretrained(policy_src).save_pretrained(out)  # fresh: keeps the source padding side
    return out


def resolve_device(device: str) -> str:
    """``"auto"`` -> ``"cuda"`` when torch sees a GPU, else ``"cpu"``; anything else as given (checked by torch)."""
    from prm_training.devices import resolve_device as resolve

    return resolve(device, "RLConfig.device")


def check_problems(problems: Sequence[Problem], heldout: Sequence[Problem]) -> None:
    if not problems:
        raise ValueError("run_rl: no training problems")
    held = {p.problem_id for p in heldout}
    leaked = [p.problem_id for p in problems if p.problem_id in held]
    if leaked:
        raise ValueError(f"run_rl: {len(leaked)} training problems are in the held-out set (e.g. {leaked[0]})")


def run_rl(cfg: RLConfig, problems: Sequence[Problem], out_dir: str | Path) -> dict[str, Any]:
    """Train (or resume, or find finished) the RL run in ``out_dir``; returns the summary (also ``summary.json``)."""
    import torch
    from tqdm import tqdm
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from data.synthetic import SynthSplit

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(cfg.threads)
    heldout = SynthSplit().heldout(cfg.heldout_n)
    check_problems(problems, heldout)
    started = time.time()

    resume = latest_checkpoint(out, "iter")
    state: dict[str, Any] = {"iteration": 0, "config": cfg.identity(), "heldout_accuracy_before": None, "wall_s": 0.0}
    if resume is not None:
        saved = json.loads((resume / STATE).read_text())
        saved["config"] = {**IDENTITY_DEFAULTS, **saved["config"]}
        if saved["config"] != cfg.identity():
            diff = sorted(k for k in cfg.identity() if saved["config"].get(k) != cfg.identity()[k])
            raise ValueError(f"{out} holds an RL run with other settings ({', '.join(diff)}); use a new out_dir")
        state = saved
    summary_path = out / "summary.json"
    if resume is not None and state["iteration"] >= cfg.iterations and summary_path.exists():
        summary = json.loads(summary_path.read_text())
        if summary.get("iterations_done") == state["iteration"]:
            return {**summary, "status": "already finished"}

    tokenizer = AutoTokenizer.from_pretrained(cfg.policy)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    device = resolve_device(cfg.device)
    model = AutoModelForCausalLM.from_pretrained(str(resume or cfg.policy), dtype=torch.float32).to(device)
    ref_model = AutoModelForCausalLM.from_pretrained(cfg.policy, dtype=torch.float32).to(device).eval()
    for p in ref_model.parameters():
        p.requires_grad_(False)
    model.eval()  # no dropout in the tiny Llama; eval keeps sampling and training passes identical
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.0)
    torch.manual_seed(cfg.seed)
    random.seed(cfg.seed)
    if resume is not None:
        blob = torch.load(resume / TRAINER, weights_only=False, map_location="cpu")
        optimizer.load_state_dict(blob["optimizer"])
        torch.set_rng_state(blob["torch_rng"])
        random.setstate(blob["python_rng"])
    scorer = None
    if cfg.reward == "process" and cfg.prm == GOLD_PRM:
        from prm_training.oracle_scorer import GoldStepScorer

        scorer = GoldStepScorer(problems)
    elif cfg.reward == "process" and cfg.prm == MC_PRM:
        from pipelines.engines.hf_engine import HFEngine
        from pipelines.labeling import LabelConfig
        from pipelines.mc_reward import MonteCarloStepScorer

        scorer = MonteCarloStepScorer(problems, HFEngine.from_model(model, tokenizer),
                                      LabelConfig(strategy=cfg.mc_strategy, rollouts=cfg.mc_rollouts,
                                                  max_tokens=cfg.max_tokens, seed=cfg.seed))
    elif cfg.reward == "process":
        from prm_training.scorer import PRMScorer

        scorer = PRMScorer.from_pretrained(cfg.prm, batch_size=cfg.prm_batch_size)

    if state["heldout_accuracy_before"] is None:
        state["heldout_accuracy_before"] = greedy_accuracy(ref_model, AutoTokenizer.from_pretrained(cfg.policy),
                                                           heldout, cfg.max_tokens)
    log_path = out / "log.jsonl"
    log = read_log(log_path, "iteration", state["iteration"])
    _write_log(log_path, log)
    pad_id = tokenizer.pad_token_id
    bar = tqdm(total=cfg.iterations, initial=state["iteration"], desc=f"rl ({cfg.reward})", disable=not cfg.progress)
    for it in range(state["iteration"], cfg.iterations):
        t0 = time.time()
        batch = [problems[i] for i in problem_schedule(len(problems), cfg.problems_per_iteration, it, cfg.seed)]
        samples = rollout(model, tokenizer, batch, cfg, it)
        t_gen = time.time() - t0
        spent_before = getattr(scorer, "rollouts", 0)
        assign_rewards(samples, batch, cfg, scorer)
        parts = ppo_update(model, ref_model, optimizer, samples, cfg, it, pad_id)
        line = {"iteration": it + 1, "reward": _mean([_mean(s.step_rewards) for s in samples]),
                "reward_min_step": _mean([min(s.step_rewards) for s in samples]),
                "train_accuracy": _mean([float(s.correct) for s in samples]),
                "no_answer_fraction": _mean([float(not (s.has_answer and s.finished)) for s in samples]),
                "mean_tokens": _mean([len(s.completion_ids) for s in samples]),
                "mean_steps": _mean([len(s.steps) for s in samples]),
                **{k: round(v, 6) for k, v in parts.items()}, "samples": len(samples),
                "gen_s": round(t_gen, 2), "iter_s": 0.0,
                **({"mc_rollouts": scorer.rollouts - spent_before} if cfg.prm == MC_PRM and scorer is not None else {})}
        if (it + 1) % cfg.eval_every == 0 or it + 1 == cfg.iterations:
            line["heldout_accuracy"] = greedy_accuracy(model, tokenizer, heldout, cfg.max_tokens)
        line["iter_s"] = round(time.time() - t0, 2)
        line = {k: round(v, 4) if isinstance(v, float) and k not in parts else v for k, v in line.items()}
        log.append(line)
        with log_path.open("a") as f:
            f.write(json.dumps(line) + "\n")
        state["iteration"] = it + 1
        if (it + 1) % cfg.checkpoint_every == 0 or it + 1 == cfg.iterations:
            state["wall_s"] = state.get("wall_s", 0.0) + (time.time() - started)
            started = time.time()
            save_checkpoint(out, "iter", state["iteration"], model,
                            {"optimizer": optimizer.state_dict(), "torch_rng": torch.get_rng_state(),
                             "python_rng": random.getstate()}, state)
        bar.update(1)
        bar.set_postfix(reward=f"{line['reward']:.3f}", acc=f"{line['train_accuracy']:.2f}", kl=f"{parts['kl']:.4f}",
                        **({"heldout": line["heldout_accuracy"]} if "heldout_accuracy" in line else {}))
    bar.close()

    evals = [x for x in log if "heldout_accuracy" in x]
    after = evals[-1]["heldout_accuracy"] if evals and evals[-1]["iteration"] == state["iteration"] else None
    if after is None:
        after = greedy_accuracy(model, tokenizer, heldout, cfg.max_tokens)
    export_policy(model, cfg.policy, out / "policy")
    state["wall_s"] = state.get("wall_s", 0.0) + (time.time() - started)
    summary = {
        "status": "finished", "iterations_done": state["iteration"], "reward_type": cfg.reward,
        "heldout_n": cfg.heldout_n, "heldout_accuracy_before": round(state["heldout_accuracy_before"], 4),
        "heldout_accuracy_after": round(after, 4),
        "reward": log[-1]["reward"] if log else None, "reward_first": log[0]["reward"] if log else None,
        "train_accuracy_first": log[0]["train_accuracy"] if log else None,
        "train_accuracy_last": log[-1]["train_accuracy"] if log else None,
        "samples": sum(x["samples"] for x in log),
        "mc_rollouts": sum(x.get("mc_rollouts", 0) for x in log),
        "heldout_curve": [(x["iteration"], x["heldout_accuracy"]) for x in evals],
        "policy_dir": str((out / "policy").resolve()), "wall_s": round(state["wall_s"], 1), "config": asdict(cfg),
    }
    summary_path.write_text(json.dumps(summary, indent=2))
    return summary


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0
