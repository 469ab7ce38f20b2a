"""Label one shard of traces: each trace moves through its own rounds of rollouts, verdicts and updates.

There is no barrier across traces. A trace's asks go to the engine loop (``engines.feeder``) as soon
as they are planned, its continuations go to the grader (``labelers.grading``) as soon as the engine
finishes them, and once every verdict of its round is in, the strategy plans its next round and
those asks join the running batch. The engine never waits for a shard's slowest trace. (An engine
whose samples depend on the batch they are drawn in, one that seeds per batch, gets the shard's
rounds in lockstep instead, so that its batches, and so its labels, stay reproducible.)

What makes this equal to rounds in lockstep: a trace's state depends only on its own verdicts, its
updates are applied in the order of its asks once the round is complete, request seeds come from
``(trace_id, step_index, round_index)`` with the trace's own round index, and rollout rows are sorted
as the lockstep loop wrote them (round, trace, ask, sample). The prefixes of a round are queued in
step order (a prefix before its extensions) with the ``n`` samples of each together, so the prefix
cache can serve every block it holds.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Sequence

from data.records import Rollout, StepLabels, Trace, seed_from
from engines.base import Engine, GenRequest, SamplingConfig
from engines.feeder import EngineLoop
from labelers.aggregate import aggregate
from labelers.grading import JobResult, make_grader
from labelers.prompter import Prompter, prompter_from_provenance
from labelers.strategies import LabelState, make_strategy, new_state
from verifiers.arithmetic import false_equation

GRADE_JOB_ITEMS = 128  # continuations per grading job at most (engine steps that finish more are split)


@dataclass
class LabelConfig(SamplingConfig):
    strategy: str = "full"
    rollouts: int = 8
    grade_timeout: float = 5.0
    grade_workers: int = 1
    adaptive_batch: int = 2
    adaptive_target: str = "hard"
    # How the traces' steps were split: sets the delimiter of rollout prompts ("": the prompt format's own).
    step_style: str = ""
    # The resolved prompt format (``Prompter.describe()``); empty: auto (chat when the policy has a template).
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
                    prompter: Prompter) -> GenRequest:
    """``n`` continuations of the trace's first ``step_index + 1`` steps, in the policy's prompt format
    (``make_prompter``: the one ``label`` renders with)."""
    prompt = prompter.prefix_prompt(trace.question, trace.steps[: step_index + 1], trace.step_delimiters)
    return cfg.request(prompt, n=n, stop=prompter.stops, add_special_tokens=prompter.add_special_tokens,
                       seed=seed_from("rollout", trace.trace_id, step_index, round_index, cfg.seed))


def make_prompter(cfg: LabelConfig, tokenizer) -> Prompter:
    """The prompter of a label run: the recorded format against the engine's tokenizer (auto when none)."""
    return prompter_from_provenance(cfg.prompt_format, tokenizer, default_style=cfg.step_style)


def trace_false_steps(trace: Trace, cfg: LabelConfig) -> list[bool]:
    """Which of the trace's own steps hold a false equation (all False with the check off)."""
    if not cfg.check_arithmetic:
        return [False] * len(trace.steps)
    return [false_equation(step) is not None for step in trace.steps]


def label_shard(engine: Engine, traces: Sequence[Trace], cfg: LabelConfig, grade_many: Callable | None = None, *,
                loop: EngineLoop | None = None, grader: Any = None) -> ShardResult:
    """Label ``traces`` and return their StepLabels and Rollout rows, plus timing and verdict counts.

    ``loop``: the engine loop to share (an engine actor's); by default one over ``engine`` for this call.
    ``grader``: where verdicts run; by default ``grade_many`` in the caller when given, else a thread
    pool of the node's size.
    """
    from verifiers import VERIFIER_NAME

    own_loop = loop is None
    loop = loop or EngineLoop(engine)
    own_grader = grader is None
    if grader is None:
        grader = make_grader("inline" if grade_many else "threads", cfg.check_arithmetic, cfg.grade_timeout,
                             workers=cfg.grade_workers if grade_many else None, grade_many=grade_many)
    run = _ShardRun(traces, cfg, make_prompter(cfg, getattr(engine, "tokenizer", None)),
                    lockstep=not getattr(engine, "batch_invariant", False))
    client = loop.client()
    try:
        before = loop.stats.step_s
        run.drive(client, grader)
        run.stats["generate_s"] = round(loop.stats.step_s - before, 3)
    finally:
        client.close()
        if own_grader:
            grader.close()
        if own_loop:
            loop.close()
    monotone = run.strategy.name != "full"
    provenance = run.prompter.provenance() if cfg.prompt_format or run.prompter.fmt.kind != "plain" else ""
    labels: list[StepLabels] = [aggregate(t, s, run.strategy.name, VERIFIER_NAME, monotone,
                                          run.prompter.question_prompt(t.question), provenance)
                                for t, s in zip(traces, run.states)]
    rollouts = [r for _, r in sorted(run.rows, key=lambda kr: kr[0])]
    return ShardResult([asdict(x) for x in labels], [asdict(r) for r in rollouts], run.stats)


class _ShardRun:
    """The bookkeeping of one shard: per trace, its open round's asks and the verdicts that came in.

    ``lockstep``: for an engine whose samples depend on the batch they are drawn in (it seeds per
    batch, not per request), a trace's next round waits until every trace's round is graded, and the
    shard's next round goes to the engine as one batch, as in rounds in lockstep.
    """

    def __init__(self, traces: Sequence[Trace], cfg: LabelConfig, prompter: Prompter, lockstep: bool = False):
        self.traces, self.cfg, self.prompter, self.lockstep = traces, cfg, prompter, lockstep
        self.ready: list[int] = []  # lockstep: traces whose round is graded, waiting for the others
        self.strategy = cfg.make_strategy()
        self.states: list[LabelState] = [
            new_state(len(t.steps), bool(t.outcome_correct), t.final_answer is not None, trace_false_steps(t, cfg))
            for t in traces]
        self.asks: dict[tuple[int, int, int], tuple[Any, int]] = {}  # (trace, round, order) -> (ask, sample base)
        self.round_verdicts: dict[int, dict[int, dict[int, bool]]] = {}  # trace -> ask order -> sample -> correct
        self.round_left: dict[int, int] = {}  # trace -> samples of its round not yet graded
        self.rows: list[tuple[tuple, Rollout]] = []
        self.in_flight = 0  # samples asked and not yet graded
        self.stats = {"rounds": 0, "requests": 0, "rollouts": 0, "generated_tokens": 0, "generate_s": 0.0,
                      "verify_s": 0.0, "grade_jobs": 0, "shard_s": 0.0, "verdicts": {}, "lucky_rejected": 0}

    def plan(self, t: int) -> list[tuple[tuple, GenRequest]]:
        """The next round of trace ``t`` as keyed requests (none: the trace is done)."""
        state = self.states[t]
        asks = self.strategy.plan(state)
        self.round_verdicts[t] = {order: {} for order in range(len(asks))}
        self.round_left[t] = sum(ask.n for ask in asks)
        self.in_flight += self.round_left[t]
        out = []
        for order, ask in enumerate(asks):
            key = (t, state.rounds, order)
            self.asks[key] = (ask, state.n_rollouts[ask.step_index])
            out.append((key, rollout_request(self.traces[t], ask.step_index, ask.n, state.rounds, self.cfg,
                                             self.prompter)))
        self.stats["requests"] += len(out)
        return out

    def drive(self, client, grader) -> None:
        """Feed the engine and the grader until every trace is done."""
        start = time.perf_counter()
        first = [kr for t in range(len(self.traces)) for kr in self.plan(t)]
        if first:
            client.submit(first)
        while self.in_flight:
            events = [client.get()]
            asks: list[tuple[tuple, GenRequest]] = []
            while events:  # an inline grader answers at once: take its verdicts before the next submit
                for kind, payload in events:
                    if kind == "generated":
                        self.grade(payload, grader, client)
                    else:
                        asks.extend(self.graded(*payload))
                events = client.drain()
            if self.lockstep and not self.in_flight:
                asks = [kr for t in sorted(self.ready) for kr in self.plan(t)]
                self.ready = []
            if asks:
                client.submit(asks)
        self.stats["shard_s"] = round(time.perf_counter() - start, 3)
        self.stats["verify_s"] = round(self.stats["verify_s"], 3)

    def grade(self, results: list[tuple[tuple, list]], grader, client) -> None:
        """Send the continuations of finished requests to the grader, in jobs of at most GRADE_JOB_ITEMS."""
        job: list[tuple[tuple, Any]] = []
        for key, completions in results:
            trace = self.traces[key[0]]
            if len(completions) != self.asks[key][0].n:
                raise RuntimeError(f"trace {trace.trace_id}: the engine returned {len(completions)} continuations "
                                   f"for a request of {self.asks[key][0].n}")
            prefix = self.prompter.prefix_text(trace.steps[: self.asks[key][0].step_index + 1], trace.step_delimiters)
            job.extend(((key, k), (prefix + c.text, trace.gold_answer, c.text, c)) for k, c in enumerate(completions))
        for i in range(0, len(job), GRADE_JOB_ITEMS):
            chunk = job[i:i + GRADE_JOB_ITEMS]
            self.stats["grade_jobs"] += 1
            grader.submit([item[:3] for _, item in chunk], lambda result, chunk=chunk: client.put("graded", (chunk, result)))

    def graded(self, chunk: list, result: JobResult) -> list[tuple[tuple, GenRequest]]:
        """Record a job's verdicts; a trace whose round is complete plans its next one."""
        if result.error is not None or result.outcomes is None:
            raise RuntimeError(f"grading failed: {result.error}")
        self.stats["verify_s"] += result.seconds
        new = []
        for ((key, k), (_, _, _, completion)), outcome in zip(chunk, result.outcomes, strict=True):
            t, round_index, order = key
            ask, base = self.asks[key]
            self.rows.append(((round_index, t, order, k), Rollout(
                self.traces[t].trace_id, ask.step_index, base + k, completion.text, outcome.extracted,
                outcome.status, completion.n_tokens, outcome.false_equation)))
            verdicts = self.stats["verdicts"]
            verdicts[outcome.status] = verdicts.get(outcome.status, 0) + 1
            self.stats["lucky_rejected"] += int(outcome.status == "correct" and outcome.false_equation is not None)
            self.stats["generated_tokens"] += completion.n_tokens
            self.stats["rollouts"] += 1
            self.round_verdicts[t][order][k] = outcome.correct
            self.round_left[t] -= 1
            self.in_flight -= 1
            if self.round_left[t] == 0:
                self.finish_round(t, round_index)
                if self.lockstep:
                    self.ready.append(t)
                else:
                    new.extend(self.plan(t))
        return new

    def finish_round(self, t: int, round_index: int) -> None:
        """Apply the round's verdicts in the order of its asks."""
        state = self.states[t]
        for order, by_sample in self.round_verdicts[t].items():
            ask, _ = self.asks[(t, round_index, order)]
            self.strategy.update(state, ask.step_index, [by_sample[k] for k in sorted(by_sample)])
        state.rounds += 1
        self.stats["rounds"] = max(self.stats["rounds"], state.rounds)
