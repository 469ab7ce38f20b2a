"""Label one shard of traces: rounds of batched rollouts, verification, aggregation.

Each round sends every open prefix of the whole shard to the engine in one call, so the
engine prefills shared prefixes once (prefix caching) and batches across traces.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Sequence

from data.records import Rollout, StepLabels, Trace, seed_from
from engines.base import Engine, GenRequest, SamplingConfig
from labelers.aggregate import aggregate
from labelers.prompter import Prompter, prompter_from_provenance
from labelers.strategies import LabelState, make_strategy, new_state
from verifiers.arithmetic import false_equation


@dataclass
class LabelConfig(SamplingConfig):
    strategy: str = "full"
    rollouts: int = 8
    grade_timeout: float = 5.0
    grade_workers: int = 1
    adaptive_batch: int = 2
    adaptive_target: str = "hard"
    step_style: str = "newline"  # how the traces' steps were split: sets the delimiter of rollout prompts
    # The resolved prompt format (``Prompter.describe()``); empty: the plain format of a base model.
    prompt_format: dict = field(default_factory=dict)
    # A continuation counts as correct only if it also holds no false arithmetic equation
    # (verifiers.arithmetic): reaching the gold answer through "47 / 2 = 23" is luck, not evidence.
    check_arithmetic: bool = True

    def make_strategy(self):
        options = {}
        if self.strategy == "adaptive":
            options = dict(batch=self.adaptive_batch, target=self.adaptive_target)
        return make_strategy(self.strategy, self.rollouts, **options)


@dataclass
class ShardResult:
    labels: list[dict]
    rollouts: list[dict]
    stats: dict = field(default_factory=dict)


def rollout_request(trace: Trace, step_index: int, n: int, round_index: int, cfg: LabelConfig,
                    prompter: Prompter | None = None) -> GenRequest:
    """``n`` continuations of the trace's first ``step_index + 1`` steps, in the policy's prompt format."""
    prompter = prompter or Prompter.plain(cfg.step_style)
    prompt = prompter.prefix_prompt(trace.question, trace.steps[: step_index + 1], trace.step_delimiters)
    return cfg.request(prompt, n=n, stop=prompter.stops, add_special_tokens=prompter.add_special_tokens,
                       seed=seed_from("rollout", trace.trace_id, step_index, round_index, cfg.seed))


def make_prompter(cfg: LabelConfig, tokenizer) -> Prompter:
    """The prompter of a label run: the recorded format against the engine's tokenizer (plain when none)."""
    return prompter_from_provenance(cfg.prompt_format, tokenizer, default_style=cfg.step_style)


def trace_false_steps(trace: Trace, cfg: LabelConfig) -> list[bool]:
    """Which of the trace's own steps hold a false equation (all False with the check off)."""
    if not cfg.check_arithmetic:
        return [False] * len(trace.steps)
    return [false_equation(step) is not None for step in trace.steps]


def label_shard(engine: Engine, traces: Sequence[Trace], cfg: LabelConfig,
                grade_many: Callable | None = None) -> ShardResult:
    """Label ``traces`` and return their StepLabels and Rollout rows, plus timing and verdict counts."""
    from verifiers import VERIFIER_NAME

    if grade_many is None:
        from verifiers import grade_many
    strategy = cfg.make_strategy()
    prompter = make_prompter(cfg, getattr(engine, "tokenizer", None))
    states: list[LabelState] = [
        new_state(len(t.steps), bool(t.outcome_correct), t.final_answer is not None, trace_false_steps(t, cfg))
        for t in traces
    ]
    rollouts: list[Rollout] = []
    stats = {"rounds": 0, "requests": 0, "rollouts": 0, "generated_tokens": 0, "generate_s": 0.0, "verify_s": 0.0,
             "verdicts": {}, "lucky_rejected": 0}
    while True:
        asks = [(t_idx, ask) for t_idx, state in enumerate(states) for ask in strategy.plan(state)]
        if not asks:
            break
        round_index = stats["rounds"]
        requests = [rollout_request(traces[t], ask.step_index, ask.n, round_index, cfg, prompter) for t, ask in asks]
        start = time.perf_counter()
        completions = engine.generate(requests)
        stats["generate_s"] += time.perf_counter() - start
        pairs = []
        for (t, ask), samples in zip(asks, completions):
            prefix = prompter.prefix_text(traces[t].steps[: ask.step_index + 1], traces[t].step_delimiters)
            pairs.extend((prefix + c.text, traces[t].gold_answer) for c in samples)
        start = time.perf_counter()
        verdicts = iter(grade_many(pairs, workers=cfg.grade_workers, timeout=cfg.grade_timeout))
        stats["verify_s"] += time.perf_counter() - start
        for (t, ask), samples in zip(asks, completions):
            trace = traces[t]
            correct = []
            sample_base = states[t].n_rollouts[ask.step_index]
            for k, completion in enumerate(samples):
                verdict = next(verdicts)
                wrong_equation = false_equation(completion.text) if cfg.check_arithmetic else None
                correct.append(verdict.correct and wrong_equation is None)
                stats["verdicts"][verdict.status] = stats["verdicts"].get(verdict.status, 0) + 1
                if verdict.correct and wrong_equation is not None:
                    stats["lucky_rejected"] += 1
                stats["generated_tokens"] += completion.n_tokens
                rollouts.append(Rollout(trace.trace_id, ask.step_index, sample_base + k, completion.text,
                                        verdict.extracted, verdict.status, completion.n_tokens, wrong_equation))
            strategy.update(states[t], ask.step_index, correct)
        for state in states:
            state.rounds += 1
        stats["rounds"] += 1
        stats["requests"] += len(requests)
        stats["rollouts"] += sum(len(s) for s in completions)
    monotone = strategy.name != "full"
    provenance = prompter.provenance() if cfg.prompt_format else ""
    labels: list[StepLabels] = [aggregate(t, s, strategy.name, VERIFIER_NAME, monotone, prompter.question_prompt(t.question),
                                          provenance) for t, s in zip(traces, states)]
    stats["generate_s"] = round(stats["generate_s"], 3)
    stats["verify_s"] = round(stats["verify_s"], 3)
    return ShardResult([asdict(x) for x in labels], [asdict(r) for r in rollouts], stats)
