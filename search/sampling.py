"""Whole-solution methods: ``n`` samples per problem in one engine call, then a choice among them.

Every engine call carries all problems of a batch at once (one request per problem), so the
engine batches and prefix-caches across them. Token counts include every generated sample.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from data.records import Problem, SearchResult, seed_from
from engines.base import Engine
from search.config import Scorer, SearchConfig, answer_of, equivalent, safe_scores, search_prompter
from search.select import aggregate_step_scores, best_index, majority_answer, weighted_answer


@dataclass
class SampledSolutions:
    """``n`` solutions of one problem, with what choosing among them needs."""

    problem: Problem
    texts: list[str]
    tokens: list[int]
    answers: list[str | None]
    step_scores: list[list[float]] | None = None


def sample_solutions(engine: Engine, problems: Sequence[Problem], cfg: SearchConfig,
                     scorer: Scorer | None = None) -> list[SampledSolutions]:
    """``cfg.n`` solutions per problem in one engine call, with PRM step scores when a scorer is given."""
    prompter = search_prompter(cfg, engine)
    requests = [cfg.request(prompter.question_prompt(p.question), n=cfg.n, stop=prompter.stops,
                            add_special_tokens=prompter.add_special_tokens,
                            seed=seed_from("search", p.problem_id, cfg.seed))
                for p in problems]
    outputs = engine.generate(requests)
    sampled = [SampledSolutions(p, [c.text for c in cs], [c.n_tokens for c in cs], [answer_of(c.text) for c in cs])
               for p, cs in zip(problems, outputs)]
    if scorer is not None:
        items = [(s.problem.question, prompter.steps_of(t)[0]) for s in sampled for t in s.texts]
        scores = iter(safe_scores(scorer, items))
        for s in sampled:
            s.step_scores = [next(scores) for _ in s.texts]
    return sampled


def choose_from_samples(method: str, answers: Sequence[str | None], step_scores: Sequence[Sequence[float]] | None,
                        aggregation: str = "min",
                        equivalent: Callable[[str, str], bool] = equivalent) -> tuple[int | None, float | None]:
    """Index of the chosen sample (``None`` when no sample has an answer) and its PRM score.

    >>> choose_from_samples("best-of-n", ["7", "12"], [[0.9, 0.2], [0.8, 0.7]], "min", str.__eq__)
    (1, 0.7)
    >>> choose_from_samples("majority", ["7", "12", "12"], None, "min", str.__eq__)
    (1, None)
    """
    if method == "majority":
        answer = majority_answer(answers, equivalent)
        return (None if answer is None else answers.index(answer)), None
    if step_scores is None:
        raise ValueError(f"method {method!r} needs PRM scores")
    solution_scores = [aggregate_step_scores(s, aggregation) for s in step_scores]
    if method == "best-of-n":
        i = best_index(solution_scores)
        return i, solution_scores[i]
    if method == "weighted-sc":
        answer = weighted_answer(answers, solution_scores, equivalent)
        if answer is None:
            return None, None
        members = [i for i, a in enumerate(answers) if a is not None and (a == answer or equivalent(a, answer))]
        i = max(members, key=lambda j: solution_scores[j])
        return i, solution_scores[i]
    raise ValueError(f"{method!r} is not a whole-solution method")


def prefix_view(sampled: SampledSolutions, n: int) -> SampledSolutions:
    """The first ``n`` samples: sweeps over N reuse one draw of the largest N (nested subsets)."""
    return SampledSolutions(sampled.problem, sampled.texts[:n], sampled.tokens[:n], sampled.answers[:n],
                            None if sampled.step_scores is None else sampled.step_scores[:n])


def result_from_samples(sampled: SampledSolutions, method: str, aggregation: str,
                        equivalent: Callable[[str, str], bool] = equivalent) -> SearchResult:
    """The chosen sample as a ``SearchResult``; ``equivalent`` clusters answers and grades against gold."""
    index, score = choose_from_samples(method, sampled.answers, sampled.step_scores, aggregation, equivalent)
    answer = None if index is None else sampled.answers[index]
    problem = sampled.problem
    return SearchResult(
        problem_id=problem.problem_id, method=method, n=len(sampled.texts), answer=answer,
        gold_answer=problem.gold_answer, correct=answer is not None and equivalent(answer, problem.gold_answer),
        samples=len(sampled.texts), tokens=sum(sampled.tokens), score=score,
        solution="" if index is None else sampled.texts[index])
