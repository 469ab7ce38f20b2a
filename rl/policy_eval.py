"""Held-out accuracy of a policy: greedy, and mean accuracy of samples at a temperature."""
from __future__ import annotations

from typing import Sequence

from data.records import Problem, seed_from
from engines.base import Engine, GenRequest
from labelers.prompter import Prompter


def policy_accuracy(engine: Engine, problems: Sequence[Problem], temperature: float = 0.0, samples: int = 1,
                    seed: int = 0, max_tokens: int = 200, prompter: Prompter | None = None) -> float:
    """Mean fraction of correct samples per problem (greedy when ``temperature`` is 0), prompted as
    ``prompter`` says (default: the plain format)."""
    from verifiers import grade_many

    if not problems:
        raise ValueError("policy_accuracy: no problems")
    prompter = prompter or Prompter.plain()
    requests = [GenRequest(prompter.question_prompt(p.question), n=samples, temperature=temperature,
                           max_tokens=max_tokens, stop=prompter.stops, add_special_tokens=prompter.add_special_tokens,
                           seed=seed_from("eval", p.problem_id, seed)) for p in problems]
    outputs = engine.generate(requests)
    pairs = [(c.text, p.gold_answer) for p, cs in zip(problems, outputs) for c in cs]
    verdicts = grade_many(pairs)
    return sum(v.correct for v in verdicts) / len(verdicts)


def greedy_accuracy(model, tokenizer, problems: Sequence[Problem], max_tokens: int,
                    prompter: Prompter | None = None) -> float:
    """Held-out greedy accuracy of the in-memory model (``policy_accuracy`` on an HF engine)."""
    from engines.hf_engine import HFEngine

    engine = HFEngine.from_model(model, tokenizer)
    return policy_accuracy(engine, problems, temperature=0.0, max_tokens=max_tokens, prompter=prompter)


def check_problems(problems: Sequence[Problem], heldout: Sequence[Problem]) -> None:
    if not problems:
        raise ValueError("run_rl: no training problems")
    held = {p.problem_id for p in heldout}
    leaked = [p.problem_id for p in problems if p.problem_id in held]
    if leaked:
        raise ValueError(f"run_rl: {len(leaked)} training problems are in the held-out set (e.g. {leaked[0]})")
