"""``RLConfig``: the settings of a PPO-clip RL run (``prm-factory rl``), checked when built."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from engines.base import SamplingConfig

MC_PRM = "mc"  # Monte Carlo step labels of each sample, drawn online from the policy (rl.mc_reward)
REWARDS = ("process", "outcome")
GOLD_PRM = "gold"  # the oracle PRM of the synthetic task (prm_training.oracle_scorer): a ceiling, not a model
# Changing any of these makes an existing out_dir a different run.
IDENTITY_FIELDS = ("policy", "prm", "reward", "group_size", "problems_per_iteration", "lr", "clip", "kl_coef",
                   "ppo_epochs", "minibatch_size", "temperature", "max_tokens", "seed", "heldout_n",
                   "no_answer_reward", "outcome_weight", "grad_clip", "clip_high", "negative_scale", "check_arithmetic",
                   "stratify", "drop_zero_advantage", "prompt_format")
# Fields added later, and the value that runs saved before them used.
IDENTITY_DEFAULTS = {"clip_high": 0.0, "negative_scale": 1.0, "check_arithmetic": False, "stratify": False,
                     "drop_zero_advantage": False, "prompt_format": {}}


@dataclass
class RLConfig(SamplingConfig):
    temperature: float = 0.7  # samples and the log-probabilities of the update: logits / T
    policy: str = ""  # HF checkpoint of the starting (and reference) policy; "" = the embedded tiny policy
    prm: str = ""  # PRM checkpoint (prm-factory train-prm), or "gold" (exact synthetic step labels); for "process"
    reward: str = "process"  # "process" (PRM step rewards) or "outcome" (verifier, 1/0)
    # The defaults are the recipe measured in docs/rl.md (process rewards beat the start over 5 seeds).
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
    # The policy's prompt format (labelers.prompter description); {}: the plain format of a base model.
    prompt_format: dict = field(default_factory=dict)
    progress: bool = True

    def __post_init__(self):
        super().__post_init__()
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
                    "device": "'auto', 'cpu', 'cuda' or 'cuda:N'"}.get(name)
            problem = f"is invalid; expected {hint}" if hint else "is out of range"
            raise ValueError(f"RLConfig.{name}: {getattr(self, name)!r} {problem}")

    def identity(self) -> dict[str, Any]:
        """What decides the run: the policy and PRM by content hash, not by where they lie."""
        from data.provenance import source_ref

        d = asdict(self)
        for key in ("policy", "prm"):
            d[key] = source_ref(d[key]) if d[key] and d[key] not in (GOLD_PRM, MC_PRM) else d[key]
        return {k: d[k] for k in IDENTITY_FIELDS}
