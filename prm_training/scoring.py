"""The scorer protocol every PRM backend follows, and the item shape it takes.

``score_batch`` takes ``(question, steps)`` pairs (or dicts with those keys) and returns one
P(good) per step. Backends: ``tag_scorer.TagPRMScorer`` (a Math-Shepherd tag head on
transformers), ``likelihood_prm.LikelihoodPRMScorer``, ``vllm_scorer`` (both kinds on vLLM) and
``oracle_scorer.GoldStepScorer`` (the synthetic task's exact labels); ``load.load_prm`` picks one.

>>> as_item(("What is 2 + 3?", ("2 + 3 = 5",)))
('What is 2 + 3?', ['2 + 3 = 5'])
>>> as_item({"question": "Q", "steps": ["a", "b"]})
('Q', ['a', 'b'])
"""
from __future__ import annotations

from typing import Any, Protocol, Sequence


class PRMScorer(Protocol):
    def score(self, question: str, steps: Sequence[str]) -> list[float]: ...

    def score_batch(self, items: Sequence[Any]) -> list[list[float]]: ...


def as_item(item: Any) -> tuple[str, list[str]]:
    """A ``(question, steps)`` pair from a tuple or a dict with ``question`` and ``steps``."""
    if isinstance(item, dict):
        return item["question"], list(item["steps"])
    question, steps = item
    return question, list(steps)
