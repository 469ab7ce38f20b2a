"""What a guided search is asked to do (``SearchConfig``), and the helpers every method shares.

Methods:
- ``majority``: self-consistency over ``n`` sampled solutions, no PRM (``n=1`` is plain sampling);
- ``best-of-n``: the solution with the best PRM score, aggregated over its steps (min/last/prod/mean);
- ``weighted-sc``: answers clustered by verifier equivalence, PRM scores summed per cluster;
- ``greedy-step``: the policy proposes ``n`` next steps, the PRM keeps one, repeat;
- ``beam``: beam search over steps, ``beam_width`` beams each expanded ``n // beam_width`` ways;
- ``lookahead``: beam search whose candidates are scored after a short greedy rollout of
  ``lookahead`` steps; a rollout that finishes a solution enters the pool of finished ones.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any, Sequence

from data.records import SearchResult
from engines.base import SamplingConfig

SAMPLE_METHODS = ("majority", "best-of-n", "weighted-sc")
STEP_METHODS = ("greedy-step", "beam", "lookahead")
METHODS = SAMPLE_METHODS + STEP_METHODS
PRM_METHODS = tuple(m for m in METHODS if m != "majority")


@dataclass
class SearchConfig(SamplingConfig):
    """The sampling settings (``max_tokens`` bounds a whole solution) plus the method's own."""

    method: str = "best-of-n"
    n: int = 16
    aggregation: str = "min"  # how step scores make a solution score (best-of-n, weighted-sc, final pick)
    step_max_tokens: int = 64  # one step (step methods)
    max_steps: int = 10
    beam_width: int = 0  # 0: max(1, n // 4) for beam and lookahead; greedy-step always 1
    lookahead: int = 2  # greedy steps rolled out before scoring a lookahead candidate
    prompt_format: dict = field(default_factory=dict)  # the resolved prompt format (labelers.prompter); {}: plain
    batch_problems: int = 64  # problems per engine round trip

    def __post_init__(self):
        super().__post_init__()
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


def search_prompter(cfg: SearchConfig, engine):
    """The policy's prompter for this search (plain, newline steps, when the config names no format)."""
    from labelers.prompter import prompter_from_provenance

    return prompter_from_provenance(cfg.prompt_format, getattr(engine, "tokenizer", None))


def answer_of(text: str) -> str | None:
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
