"""A perfect PRM for the synthetic task: step scores are the exact gold prefix labels.

It shows what guided search could reach with an ideal PRM (the ceiling our trained PRM is
measured against), and lets tests check the search logic itself. ``--prm gold`` selects it.

>>> from data.synthetic import SynthSplit
>>> p = SynthSplit().heldout(1)[0]
>>> scorer = GoldStepScorer([p])
>>> scorer.score(p.question, p.gold_steps) == [1.0] * len(p.gold_steps)
True
"""
from __future__ import annotations

from typing import Any, Sequence

from data.records import Problem
from data.synthetic import gold_step_labels

GOLD_PRM = "gold"


class GoldStepScorer:
    def __init__(self, problems: Sequence[Problem]):
        self.gold_steps = {}
        for p in problems:
            if not p.gold_steps:
                raise ValueError(f"problem {p.problem_id}: field gold_steps is empty; the gold PRM needs "
                                 f"synthetic problems")
            self.gold_steps[p.question.strip()] = list(p.gold_steps)

    def score(self, question: str, steps: Sequence[str]) -> list[float]:
        return self.score_batch([(question, list(steps))])[0]

    def score_batch(self, items: Sequence[Any]) -> list[list[float]]:
        from prm_training.scoring import as_item

        out = []
        for item in items:
            question, steps = as_item(item)
            gold = self.gold_steps.get(question.strip())
            if gold is None:
                raise ValueError(f"gold PRM: unknown question {question[:60]!r}")
            out.append([float(x) for x in gold_step_labels(gold, steps)])
        return out
