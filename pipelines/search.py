"""Guided search with a PRM (``prm-factory search``): spend more samples, let the PRM pick.

Methods:
- ``majority``: self-consistency over ``n`` sampled solutions, no PRM (``n=1`` is plain sampling);
- ``best-of-n``: the solution with the best PRM score, aggregated over its steps (min/last/prod/mean);
- ``weighted-sc``: answers clustered by verifier equivalence, PRM scores summed per cluster;
- ``greedy-step``: the policy proposes ``n`` next steps, the PRM keeps one, repeat;
- ``beam``: beam search over steps, ``beam_width`` beams each expanded ``n // beam_width`` ways;
- ``lookahead``: beam search whose candidates are scored after a short greedy rollout of
  ``lookahead`` steps; a rollout that finishes a solution enters the pool of finished ones.

Every engine call carries all problems of a batch at once (one request per problem, beam or
candidate), so the engine batches and prefix-caches across them. Token counts include every
generated candidate, discarded or not.
"""
from __future__ import annotations

import json
import time
from functools import lru_cache
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from data.prompt_format import build_prompt, solution_text
from data.records import Problem, SearchResult, seed_from
from labelers.step_split import split_steps
from pipelines.engines.base import Engine, GenRequest
from pipelines.search_select import aggregate_step_scores, best_index, majority_answer, weighted_answer

SAMPLE_METHODS = ("majority", "best-of-n", "weighted-sc")
STEP_METHODS = ("greedy-step", "beam", "lookahead")
METHODS = SAMPLE_METHODS + STEP_METHODS
PRM_METHODS = tuple(m for m in METHODS if m != "majority")


@dataclass
class SearchConfig:
    method: str = "best-of-n"
    n: int = 16
    aggregation: str = "min"  # how step scores make a solution score (best-of-n, weighted-sc, final pick)
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 200  # whole solutions (sample methods)
    step_max_tokens: int = 64  # one step (step methods)
    max_steps: int = 10
    beam_width: int = 0  # 0: max(1, n // 4) for beam and lookahead; greedy-step always 1
    lookahead: int = 2  # greedy steps rolled out before scoring a lookahead candidate
    seed: int = 0
    batch_problems: int = 64  # problems per engine round trip

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"SearchConfig.method: unknown {self.method!r}; choose one of {METHODS}")
        if self.n < 1:
            raise ValueError(f"SearchConfig.n must be >= 1, got {self.n}")
        if self.max_steps < 1 or self.step_max_tokens < 1 or self.max_tokens < 1:
            raise ValueError("SearchConfig: max_steps, step_max_tokens and max_tokens must be >= 1")
        if self.lookahead < 0:
            raise ValueError(f"SearchConfig.lookahead must be >= 0, got {self.lookahead}")

    @property
    def uses_prm(self) -> bool:
        return self.method in PRM_METHODS

    def beams_and_expansions(self) -> tuple[int, int]:
        """(beam width, expansions per beam): together they spend ``n`` candidates per round.

        A round spreads its ``n`` candidates over the beams still open, so the first round
        (one empty beam) and rounds after some beams finished use the whole budget too.

        >>> SearchConfig(method="beam", n=16).beams_and_expansions()
        (4, 4)
        >>> SearchConfig(method="greedy-step", n=8).beams_and_expansions()
        (1, 8)
        """
        if self.method == "greedy-step":
            return 1, self.n
        width = self.beam_width or max(1, self.n // 4)
        width = min(width, self.n)
        return width, max(1, self.n // width)


Scorer = Any  # anything with score_batch(list[(question, steps)]) -> list[list[float]] (PRMScorer, VLLMPRMScorer)


def _answer_of(text: str) -> str | None:
    from verifiers import extract_answer

    return extract_answer(text)


@lru_cache(maxsize=65536)
def equivalent(a: str, b: str) -> bool:
    """``verifiers.is_equivalent``, cached: sweeps grade and cluster the same answers many times."""
    from verifiers import is_equivalent

    return is_equivalent(a, b)


def safe_scores(scorer: Scorer, items: Sequence[tuple[str, list[str]]]) -> list[list[float]]:
    """PRM step scores; an item the PRM cannot take (too long, no steps) scores 0 on every step."""
    items = [(q, list(s)) for q, s in items]
    scorable = [i for i, (_, steps) in enumerate(items) if steps]
    out: list[list[float]] = [[0.0] * len(s) for _, s in items]
    try:
        scored = scorer.score_batch([items[i] for i in scorable])
    except ValueError:
        scored = []
        for i in scorable:
            try:
                scored.append(scorer.score_batch([items[i]])[0])
            except ValueError:
                scored.append([0.0] * len(items[i][1]))
    for i, s in zip(scorable, scored):
        out[i] = list(s) if len(s) == len(items[i][1]) else [0.0] * len(items[i][1])
    return out


# ---------------------------------------------------------------- whole-solution methods

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
    requests = [GenRequest(build_prompt(p.question), n=cfg.n, temperature=cfg.temperature, top_p=cfg.top_p,
                           max_tokens=cfg.max_tokens, seed=seed_from("search", p.problem_id, cfg.seed))
                for p in problems]
    outputs = engine.generate(requests)
    sampled = [SampledSolutions(p, [c.text for c in cs], [c.n_tokens for c in cs], [_answer_of(c.text) for c in cs])
               for p, cs in zip(problems, outputs)]
    if scorer is not None:
        items = [(s.problem.question, split_steps(t)) for s in sampled for t in s.texts]
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


# ---------------------------------------------------------------- step-level methods

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
            or _answer_of(step) is not None)


def _step_request(problem: Problem, steps: list[str], n: int, temperature: float, cfg: SearchConfig,
                  *seed_parts) -> GenRequest:
    return GenRequest(build_prompt(problem.question, steps), n=n, temperature=temperature, top_p=cfg.top_p,
                      max_tokens=cfg.step_max_tokens, stop=("\n",),
                      seed=seed_from("search-step", problem.problem_id, cfg.seed, *seed_parts))


def _lookahead(engine: Engine, searches: Sequence[_ProblemSearch], candidates: list[tuple[int, _Candidate]],
               cfg: SearchConfig) -> list[list[str]]:
    """Greedy rollouts of up to ``cfg.lookahead`` steps after each open candidate; returns the steps added."""
    added: list[list[str]] = [[] for _ in candidates]
    open_ = [i for i, (_, c) in enumerate(candidates) if not c.finished]
    for depth in range(cfg.lookahead):
        if not open_:
            break
        requests = [_step_request(searches[candidates[i][0]].problem, candidates[i][1].steps + added[i], 1, 0.0,
                                  cfg, "lookahead", depth) for i in open_]
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
    searches = [_ProblemSearch(p) for p in problems]
    for depth in range(cfg.max_steps):
        active = [(k, b, beam) for k, s in enumerate(searches) for b, beam in enumerate(s.beams)]
        if not active:
            break
        requests = [_step_request(searches[k].problem, beam.steps, max(1, cfg.n // len(searches[k].beams)),
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
        added = (_lookahead(engine, searches, candidates, cfg) if cfg.method == "lookahead"
                 else [[] for _ in candidates])
        scored_steps = safe_scores(scorer, [(searches[k].problem.question, c.steps + extra)
                                            for (k, c), extra in zip(candidates, added)])
        by_problem: dict[int, list[_Candidate]] = {}
        for (k, cand), extra, scores in zip(candidates, added, scored_steps):
            cand.score = aggregate_step_scores(scores, cfg.aggregation) if cand.steps else 0.0
            if extra and _answer_of(extra[-1]) is not None:
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
        text = solution_text(chosen.steps)
        answer = _answer_of(text) if chosen.steps else None
        problem = search.problem
        results.append(SearchResult(
            problem_id=problem.problem_id, method=cfg.method, n=cfg.n, answer=answer,
            gold_answer=problem.gold_answer, correct=answer is not None and equivalent(answer, problem.gold_answer),
            samples=search.samples, tokens=search.tokens, score=chosen.score, solution=text))
    return results


# ---------------------------------------------------------------- one method, many problems

def in_resumable_batches(problems: Sequence[Problem], batch_size: int, compute: Callable[[list], list],
                         batches_dir: str | Path | None, suffix: str, save: Callable[[Path, list], None],
                         load: Callable[[Path, list], list], desc: str, progress: bool = True) -> list:
    """``compute`` over batches of ``batch_size`` problems, concatenated in problem order.

    With ``batches_dir``, each finished batch is saved there (``batch-NNNNN.<suffix>``, atomically)
    and a batch already there is loaded instead of computed again: a run killed at any point and
    rerun redoes only the unfinished batches, and since every seed derives from the problem, the
    result equals an uninterrupted run.
    """
    from tqdm import tqdm

    out: list = []
    bar = tqdm(total=len(problems), desc=desc, unit="problem", disable=not progress)
    for index, start in enumerate(range(0, len(problems), batch_size)):
        batch = list(problems[start:start + batch_size])
        done = Path(batches_dir) / f"batch-{index:05d}.{suffix}" if batches_dir is not None else None
        if done is not None and done.exists():
            got = load(done, batch)
        else:
            got = compute(batch)
            if done is not None:
                save(done, got)
        out.extend(got)
        bar.update(len(batch))
    bar.close()
    return out


def run_search(engine: Engine, problems: Sequence[Problem], cfg: SearchConfig, scorer: Scorer | None = None,
               progress: bool = True, batches_dir: str | Path | None = None) -> list[SearchResult]:
    """One ``SearchResult`` per problem, in problem order; resumable with ``batches_dir``
    (:func:`in_resumable_batches`)."""
    from data.parquet_io import read_records, write_records

    if cfg.uses_prm and scorer is None:
        raise ValueError(f"method {cfg.method!r} needs a PRM (--prm)")

    def compute(batch: list[Problem]) -> list[SearchResult]:
        if cfg.method in SAMPLE_METHODS:
            sampled = sample_solutions(engine, batch, cfg, scorer if cfg.uses_prm else None)
            return [result_from_samples(s, cfg.method, cfg.aggregation) for s in sampled]
        return step_search(engine, scorer, batch, cfg)

    return in_resumable_batches(problems, cfg.batch_problems, compute, batches_dir, "parquet", write_records,
                                lambda path, _batch: read_records(path, SearchResult),
                                f"search {cfg.method} n={cfg.n}", progress)


def summarize(results: Sequence[SearchResult], cfg: SearchConfig, wall_s: float) -> dict:
    """``summary.json``: method, n, accuracy, tokens and samples per problem, wall time.

    >>> r = [SearchResult("p", "majority", 1, "7", "7", True, 1, 30),
    ...      SearchResult("q", "majority", 1, None, "5", False, 1, 50)]
    >>> s = summarize(r, SearchConfig(method="majority", n=1), 2.0)
    >>> s["accuracy"], s["tokens_per_problem"]
    (0.5, 40.0)
    """
    if not results:
        raise ValueError("summarize: no results")
    count = len(results)
    return {"method": cfg.method, "n": cfg.n, "problems": count,
            "accuracy": round(sum(r.correct for r in results) / count, 4),
            "tokens_per_problem": round(sum(r.tokens for r in results) / count, 1),
            "samples_per_problem": round(sum(r.samples for r in results) / count, 2),
            "no_answer": sum(r.answer is None for r in results), "wall_s": round(wall_s, 2),
            "config": asdict(cfg)}


def claim_run_dir(run_file: Path, settings: dict, problems: Sequence[Problem]) -> None:
    """Record what a resumable run computes; refuse to mix another run's partial results into it."""
    from data.parquet_io import write_json_atomic
    from data.records import content_id

    identity = json.loads(json.dumps({**settings, "problems": content_id(*(p.problem_id for p in problems))},
                                     default=str))
    if run_file.exists():
        before = json.loads(run_file.read_text())
        differ = sorted(k for k in set(before) | set(identity) if before.get(k) != identity.get(k))
        if differ:
            raise ValueError(f"{run_file.parent} holds a run with other settings ({', '.join(differ)}); "
                             f"use another --out or delete it")
    write_json_atomic(run_file, identity)


def search_to_dir(engine: Engine, problems: Sequence[Problem], cfg: SearchConfig, out_dir: str | Path,
                  scorer: Scorer | None = None, extra: dict | None = None, progress: bool = True) -> dict:
    """Write ``out_dir/results.parquet`` (one row per problem) and ``out_dir/summary.json``.

    Finished batches are kept under ``out_dir/batches/``: rerunning the same command after a kill
    searches only the rest. A rerun with other settings or problems into the same folder is refused.
    """
    from data.parquet_io import write_json_atomic, write_records

    if not problems:
        raise ValueError("search: no problems")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    claim_run_dir(out_dir / "search_run.json", {"config": asdict(cfg), **(extra or {})}, problems)
    start = time.perf_counter()
    results = run_search(engine, problems, cfg, scorer, progress, batches_dir=out_dir / "batches")
    summary = summarize(results, cfg, time.perf_counter() - start)
    summary.update(extra or {})
    write_records(out_dir / "results.parquet", results)
    write_json_atomic(out_dir / "summary.json", summary)
    return summary
