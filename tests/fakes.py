"""A fake engine for unit tests of pure logic only (strategies, aggregation, shard bookkeeping).

It continues a synthetic-task prefix with the right answer when the prefix is gold-correct,
with probability ``p_good`` (else a wrong one), and with probability ``p_recover`` otherwise.
"""
from __future__ import annotations

import random
import re

from engines.base import Completion, EngineStats, GenRequest


class FakeEngine:
    name = "fake"

    def __init__(self, answers: dict[str, tuple[str, list[bool]]], p_good: float = 0.7, p_recover: float = 0.05):
        """``answers`` maps a question to (gold answer, gold labels of the trace being labeled)."""
        self.answers, self.p_good, self.p_recover = answers, p_good, p_recover
        self.stats = EngineStats()
        self.calls: list[list[GenRequest]] = []

    def generate(self, requests):
        self.calls.append(list(requests))
        out = []
        for r in requests:
            question, *steps = r.prompt.rstrip("\n").split("\n")
            gold, labels = self.answers[question]
            prefix_ok = all(labels[: len(steps)])
            p = self.p_good if prefix_ok else self.p_recover
            rng = random.Random(r.seed)
            samples = []
            for _ in range(r.n):
                answer = gold if rng.random() < p else str(int(gold) + 1)
                samples.append(Completion(f"1 + 1 = 2. The answer is {answer}", 9, "stop"))
            out.append(samples)
            self.stats.samples += r.n
        return out


class _Verdict:
    def __init__(self, correct, extracted):
        self.correct, self.extracted = correct, extracted
        self.status = "correct" if correct else "incorrect"


def fake_grade_many(pairs, workers=1, timeout=5.0):
    """Grade 'The answer is N' by string equality: enough for bookkeeping tests."""
    verdicts = []
    for text, gold in pairs:
        found = re.findall(r"The answer is (-?\d+)", text)
        verdicts.append(_Verdict(bool(found) and found[-1] == gold, found[-1] if found else None))
    return verdicts
