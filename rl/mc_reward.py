"""Monte Carlo process rewards: the factory's own labeler as the step reward of RL (``--prm mc``).

Every solution the RL loop samples is labeled online as a trace of ``prm-factory label`` would
be: continuations from its step prefixes, drawn from the policy being trained, graded against
the gold answer (with the arithmetic check), aggregated into hard or soft step labels. The step
reward is that label. This is VinePPO-style credit assignment (Monte Carlo values of each
prefix instead of a learned value or reward model) at the labeler's cost: with ``binary`` a
correct solution needs no rollouts and a wrong one about log2(steps) probes.

>>> from data.synthetic import SynthSplit
>>> p = SynthSplit().heldout(1)[0]
>>> scorer = MonteCarloStepScorer([p], engine=None)
>>> scorer.score_batch([(p.question, p.gold_steps)]) == [[1.0] * len(p.gold_steps)]  # correct: no rollouts
True
>>> scorer.rollouts
0
"""
from __future__ import annotations

from typing import Any, Sequence

from data.prompt_format import solution_text
from data.records import Problem, Trace
from labelers.rounds import LabelConfig, label_shard

from rl.config import MC_PRM  # noqa: F401  (re-exported: the name of this reward on the command line)


class MonteCarloStepScorer:
    """``score_batch`` = Monte Carlo step labels of each solution, from ``engine``'s continuations."""

    def __init__(self, problems: Sequence[Problem], engine, label_cfg: LabelConfig | None = None,
                 label_type: str = "hard"):
        if label_type not in ("hard", "soft"):
            raise ValueError(f"MonteCarloStepScorer.label_type must be 'hard' or 'soft', got {label_type!r}")
        self.problems = {p.question.strip(): p for p in problems}
        self.engine = engine
        self.label_cfg = label_cfg or LabelConfig(strategy="binary", rollouts=4)
        self.label_type = label_type
        self.calls = 0
        self.rollouts = 0  # continuations drawn so far (the reward's cost)

    def score(self, question: str, steps: Sequence[str]) -> list[float]:
        return self.score_batch([(question, list(steps))])[0]

    def score_batch(self, items: Sequence[Any]) -> list[list[float]]:
        from prm_training.scoring import as_item
        from verifiers import grade_many

        pairs = [as_item(item) for item in items]
        problems = []
        for question, _ in pairs:
            problem = self.problems.get(question.strip())
            if problem is None:
                raise ValueError(f"Monte Carlo PRM: unknown question {question[:60]!r} "
                                 f"(no gold answer to grade against)")
            problems.append(problem)
        verdicts = grade_many([(solution_text(list(steps)), p.gold_answer) for (_, steps), p in zip(pairs, problems)])
        traces = [Trace(trace_id=f"mc-{self.calls}-{k}", problem_id=p.problem_id, question=p.question,
                        gold_answer=p.gold_answer, steps=list(steps), policy="rl", final_answer=v.extracted,
                        outcome_correct=bool(v.correct))
                  for k, ((_, steps), p, v) in enumerate(zip(pairs, problems, verdicts))]
        self.calls += 1
        result = label_shard(self.engine, traces, self.label_cfg)
        self.rollouts += result.stats["rollouts"]
        key = "labels" if self.label_type == "hard" else "soft_labels"
        return [[float(x) for x in row[key]] for row in result.labels]
