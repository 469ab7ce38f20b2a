"""The scorer protocol every PRM backend follows, and the item shape it takes.

``score_batch`` takes ``(question, steps)`` pairs (or dicts with those keys) and returns one
P(good) per step. Backends: ``tag_scorer.TagPRMScorer`` (a Math-Shepherd tag head on
transformers, ours or a third-party one), ``likelihood_prm.LikelihoodPRMScorer``,
``qwen_prm.QwenPRMScorer`` (Qwen2.5-Math-PRM-style token classifiers), ``vllm_scorer`` (each of
them on vLLM) and ``oracle_scorer.GoldStepScorer`` (the synthetic task's exact labels);
``load.load_prm`` picks one. Scorers that can cut a long input also have ``score_fitting``: the
scores of the steps that fit in the context, fewer than the steps when the input was cut.

>>> as_item(("What is 2 + 3?", ("2 + 3 = 5",)))
('What is 2 + 3?', ['2 + 3 = 5'])
>>> as_item({"question": "Q", "steps": ["a", "b"]})
('Q', ['a', 'b'])
>>> fit_ids([5, 6, 7, 8, 9], [1, 3], max_length=3, truncate=True)
([5, 6, 7], [1])
"""
from __future__ import annotations

from typing import Any, Protocol, Sequence


class PRMScorer(Protocol):
    def score(self, question: str, steps: Sequence[str]) -> list[float]: ...

    def score_batch(self, items: Sequence[Any]) -> list[list[float]]: ...


class EncodedStepScorer:
    """The public calls of a scorer that encodes each item on its own and scores the encodings in batches:
    subclasses give ``_encode(item, truncate)`` (``fit_ids``'s contract: without ``truncate`` an input past
    ``max_length`` raises) and ``_score(encoded)`` (one list of P(good) per encoding, [] for no steps)."""

    def score(self, question: str, steps: Sequence[str]) -> list[float]:
        """P(good) for each step of one solution."""
        return self.score_batch([(question, list(steps))])[0]

    def score_batch(self, items: Sequence[Any]) -> list[list[float]]:
        """P(good) per step for many ``(question, steps)`` pairs (or dicts); ValueError past ``max_length``."""
        return self._score([self._encode(item, truncate=False) for item in items])

    def score_fitting(self, items: Sequence[Any]) -> list[list[float]]:
        """As ``score_batch``, but an input past ``max_length`` is cut there: its list holds the scores of
        the steps whose tag or separator fits (a causal model scores a prefix as it scores the whole)."""
        return self._score([self._encode(item, truncate=True) for item in items])

    def _encode(self, item: Any, truncate: bool) -> Any:
        raise NotImplementedError

    def _score(self, encoded: list) -> list[list[float]]:
        raise NotImplementedError


def as_item(item: Any) -> tuple[str, list[str]]:
    """A ``(question, steps)`` pair from a tuple or a dict with ``question`` and ``steps``."""
    if isinstance(item, dict):
        return item["question"], list(item["steps"])
    question, steps = item
    return question, list(steps)


def fit_ids(ids: list[int], positions: list[int], max_length: int,
            truncate: bool) -> tuple[list[int], list[int]]:
    """``ids`` cut at ``max_length`` with the positions that survive; without ``truncate`` an input that
    does not fit raises."""
    if len(ids) <= max_length:
        return ids, positions
    if not truncate:
        raise ValueError(f"PRM input of {len(ids)} tokens exceeds max_length {max_length}")
    return ids[:max_length], [p for p in positions if p < max_length]
