"""RL samples: draw ``group_size`` solutions per problem from the policy being trained, split them into
steps, grade them, and turn rewards into per-token advantages."""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Sequence

from data.records import Problem, seed_from
from rl.config import RLConfig


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


def tokenize_completion(tokenizer, text: str, finished: bool, prompter=None) -> tuple[list[int], list[int]]:
    """Completion token ids re-encoded from its text (plus EOS when the policy stopped) and the step index of
    each token: for engines that hand out no token ids."""
    from labelers.prompter import Prompter

    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    chars = (prompter or Prompter.plain()).char_steps(text)
    last = chars[-1] if chars else 0
    steps = [chars[start] if start < len(chars) else last for start, _ in enc["offset_mapping"]]
    ids = list(enc["input_ids"])
    if finished:
        ids.append(tokenizer.eos_token_id)
        steps.append(last)
    return ids, steps


def sampled_token_steps(tokenizer, token_ids: Sequence[int], text: str, prompter) -> list[int]:
    """The step index of each sampled token: the step of the first character it adds to the decoded text
    (tokens past ``text``, such as the end-of-turn token, count to the last step)."""
    chars = prompter.char_steps(text)
    last = chars[-1] if chars else 0
    steps, start = [], 0
    for i in range(len(token_ids)):
        steps.append(chars[start] if start < len(chars) else last)
        start = len(tokenizer.decode(token_ids[: i + 1], skip_special_tokens=True))
    return steps


def problem_schedule(n_problems: int, per_iteration: int, iteration: int, seed: int) -> list[int]:
    """Indices of the problems of one iteration: consecutive slices of a seeded permutation, wrapping around.

    >>> problem_schedule(5, 2, 0, seed=0) + problem_schedule(5, 2, 1, seed=0) + problem_schedule(5, 2, 2, seed=0)
    [2, 1, 0, 4, 3, 2]
    """
    order = list(range(n_problems))
    random.Random(seed).shuffle(order)
    return [order[(iteration * per_iteration + j) % n_problems] for j in range(per_iteration)]


def rollout(model, tokenizer, problems: Sequence[Problem], cfg: RLConfig, iteration: int,
            prompter=None) -> list[Sample]:
    """``group_size`` samples of each problem from the model being trained, split into steps and graded.
    The update later scores exactly the sampled tokens, in the prompt format they were sampled in."""
    from engines.hf_engine import HFEngine
    from labelers.prompter import Prompter
    from verifiers import grade_many

    prompter = prompter or Prompter.plain()
    engine = HFEngine.from_model(model, tokenizer)
    prompts = [prompter.question_prompt(p.question) for p in problems]
    requests = [cfg.request(prompt, n=cfg.group_size, stop=prompter.stops, add_special_tokens=prompter.add_special_tokens,
                            seed=seed_from("rl", cfg.seed, iteration, p.problem_id))
                for prompt, p in zip(prompts, problems)]
    outputs = engine.generate(requests)
    samples = []
    for g, (prompt, completions) in enumerate(zip(prompts, outputs)):
        prompt_ids = tokenizer(prompt, add_special_tokens=prompter.add_special_tokens)["input_ids"]
        for c in completions:
            finished = c.finish_reason == "stop"
            if c.token_ids is not None:
                ids, steps_of = list(c.token_ids), sampled_token_steps(tokenizer, c.token_ids, c.text, prompter)
            else:
                ids, steps_of = tokenize_completion(tokenizer, c.text, finished, prompter)
            steps, _ = prompter.steps_of(c.text)
            samples.append(Sample(g, prompt_ids, ids, steps_of, c.text, steps, finished))
    verdicts = grade_many([(s.text, problems[s.group].gold_answer) for s in samples])
    for s, v in zip(samples, verdicts):
        s.correct, s.has_answer = bool(v.correct), v.extracted is not None
    return samples


def outcome_reward(sample: Sample) -> float:
    """1.0 when the verifier accepts the answer and no step holds a false equation, else 0.0."""
    return 1.0 if sample.correct and not sample.false_steps else 0.0


def assign_rewards(samples: list[Sample], problems: Sequence[Problem], cfg: RLConfig, scorer) -> None:
    """Fill ``step_rewards`` and per-token ``advantages`` of every sample, group by group."""
    from rl.policy_gradient import outcome_advantages, scale_negative, step_advantages, token_advantages
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
