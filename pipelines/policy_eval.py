"""Held-out accuracy of a policy: greedy, and mean accuracy of samples at a temperature."""
from __future__ import annotations

from typing import Sequence

from data.prompt_format import build_prompt
from data.records import Problem, seed_from
from pipelines.engines.base import Engine, GenRequest


def policy_accuracy(engine: Engine, problems: Sequence[Problem], temperature: float = 0.0, samples: int = 1,
                    seed: int = 0, max_tokens: int = 200) -> float:
    """Mean fraction of correct samples per problem (greedy when ``temperature`` is 0)."""
    from verifiers import grade_many

    if not problems:
        raise ValueError("policy_accuracy: no problems")
    requests = [GenRequest(build_prompt(p.question), n=samples, temperature=temperature, max_tokens=max_tokens,
                           seed=seed_from("eval", p.problem_id, seed)) for p in problems]
    outputs = engine.generate(requests)
    pairs = [(c.text, p.gold_answer) for p, cs in zip(problems, outputs) for c in cs]
    verdicts = grade_many(pairs)
    return sum(v.correct for v in verdicts) / len(verdicts)
