"""Step-level methods: greedy-step, beam and lookahead search, rounds batched across problems.

Each round sends one request per open beam of every problem to the engine, scores the new
candidates with the PRM and keeps the best; candidates discarded still count in the tokens.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from data.records import Problem, SearchResult, seed_from
from engines.base import Engine, GenRequest
from search.config import STEP_METHODS, Scorer, SearchConfig, answer_of, equivalent, safe_scores, search_prompter
from search.select import aggregate_step_scores


@dataclass
class _Candidate:
    steps: list[str]
    score: float = 0.0
    finished: bool = False


@dataclass
class _ProblemSearch:
    problem: Problem
    beams: list[_Candidate] = field(default_factory=lambda: [_Candidate([])])
    finished: list[_Candidate] = field(default_factory=list)
    samples: int = 0
    tokens: int = 0


def _is_final(step: str, finish_reason: str, n_steps: int, cfg: SearchConfig) -> bool:
    return (not step.strip() or finish_reason == "length" or n_steps >= cfg.max_steps
            or answer_of(step) is not None)


def _step_request(prompter, problem: Problem, steps: list[str], n: int, temperature: float, cfg: SearchConfig,
                  *seed_parts) -> GenRequest:
    return cfg.request(prompter.prefix_prompt(problem.question, steps), n=n, temperature=temperature,
                       max_tokens=cfg.step_max_tokens, stop=prompter.step_stops,
                       add_special_tokens=prompter.add_special_tokens,
                       seed=seed_from("search-step", problem.problem_id, cfg.seed, *seed_parts))


def _lookahead(engine: Engine, searches: Sequence[_ProblemSearch], candidates: list[tuple[int, _Candidate]],
               cfg: SearchConfig, prompter) -> list[list[str]]:
    """Greedy rollouts of up to ``cfg.lookahead`` steps after each open candidate; returns the steps added."""
    added: list[list[str]] = [[] for _ in candidates]
    open_ = [i for i, (_, c) in enumerate(candidates) if not c.finished]
    for depth in range(cfg.lookahead):
        if not open_:
            break
        requests = [_step_request(prompter, searches[candidates[i][0]].problem, candidates[i][1].steps + added[i],
                                  1, 0.0, cfg, "lookahead", depth) for i in open_]
        still_open = []
        for i, (completion,) in zip(open_, engine.generate(requests)):
            search = searches[candidates[i][0]]
            search.samples += 1
            search.tokens += completion.n_tokens
            step = completion.text.strip()
            if step:
                added[i].append(step)
            total = len(candidates[i][1].steps) + len(added[i])
            if not _is_final(step, completion.finish_reason, total, cfg):
                still_open.append(i)
        open_ = still_open
    return added


def step_search(engine: Engine, scorer: Scorer, problems: Sequence[Problem], cfg: SearchConfig) -> list[SearchResult]:
    """greedy-step, beam or lookahead search for every problem, rounds batched across problems."""
    if cfg.method not in STEP_METHODS:
        raise ValueError(f"{cfg.method!r} is not a step-level method")
    width, _ = cfg.beams_and_expansions()
    prompter = search_prompter(cfg, engine)
    searches = [_ProblemSearch(p) for p in problems]
    for depth in range(cfg.max_steps):
        active = [(k, b, beam) for k, s in enumerate(searches) for b, beam in enumerate(s.beams)]
        if not active:
            break
        requests = [_step_request(prompter, searches[k].problem, beam.steps, max(1, cfg.n // len(searches[k].beams)),
                                  cfg.temperature, cfg, depth, b)
                    for k, b, beam in active]
        candidates: list[tuple[int, _Candidate]] = []
        for (k, _, beam), completions in zip(active, engine.generate(requests)):
            search = searches[k]
            seen = set()
            for c in completions:
                search.samples += 1
                search.tokens += c.n_tokens
                step = c.text.strip()
                if step in seen:
                    continue
                seen.add(step)
                steps = beam.steps + ([step] if step else [])
                candidates.append((k, _Candidate(steps, finished=_is_final(step, c.finish_reason, len(steps), cfg))))
        added = (_lookahead(engine, searches, candidates, cfg, prompter) if cfg.method == "lookahead"
                 else [[] for _ in candidates])
        scored_steps = safe_scores(scorer, [(searches[k].problem.question, c.steps + extra)
                                            for (k, c), extra in zip(candidates, added)])
        by_problem: dict[int, list[_Candidate]] = {}
        for (k, cand), extra, scores in zip(candidates, added, scored_steps):
            cand.score = aggregate_step_scores(scores, cfg.aggregation) if cand.steps else 0.0
            if extra and answer_of(extra[-1]) is not None:
                searches[k].finished.append(_Candidate(cand.steps + extra, cand.score, True))
            by_problem.setdefault(k, []).append(cand)
        for k, search in enumerate(searches):
            pool = by_problem.get(k, [])
            search.finished.extend(c for c in pool if c.finished)
            open_pool = sorted((c for c in pool if not c.finished), key=lambda c: -c.score)
            room = width - len(search.finished) if cfg.method != "greedy-step" else (0 if search.finished else 1)
            search.beams = open_pool[:max(0, room)]
    results = []
    for search in searches:
        pool = search.finished or search.beams
        chosen = max(pool, key=lambda c: c.score) if pool else _Candidate([])
        text = prompter.solution(chosen.steps)
        answer = answer_of(text) if chosen.steps else None
        problem = search.problem
        results.append(SearchResult(
            problem_id=problem.problem_id, method=cfg.method, n=cfg.n, answer=answer,
            gold_answer=problem.gold_answer, correct=answer is not None and equivalent(answer, problem.gold_answer),
            samples=search.samples, tokens=search.tokens, score=chosen.score, solution=text))
    return results
