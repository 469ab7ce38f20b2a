"""The one protocol every generation engine implements, and its request/response records.

>>> GenRequest(prompt="2 + 3 =", n=2, seed=7).n
2
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, Sequence, runtime_checkable


@dataclass(frozen=True)
class GenRequest:
    """One prompt asking for ``n`` samples. Many requests go to the engine in one call."""

    prompt: str
    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 128
    stop: tuple[str, ...] = ()
    seed: int | None = None

    def __post_init__(self):
        if self.n < 1:
            raise ValueError(f"GenRequest.n must be >= 1, got {self.n}")
        if self.max_tokens < 1:
            raise ValueError(f"GenRequest.max_tokens must be >= 1, got {self.max_tokens}")


@dataclass(frozen=True)
class Completion:
    text: str
    n_tokens: int
    finish_reason: str  # "stop" (eos or a stop string) or "length"


@dataclass
class EngineStats:
    """Counters an engine keeps across calls; the factory reports them in stats.json."""

    calls: int = 0
    requests: int = 0
    samples: int = 0
    prompt_tokens: int = 0
    generated_tokens: int = 0
    cached_prompt_tokens: int = 0
    extra: dict = field(default_factory=dict)


@runtime_checkable
class Engine(Protocol):
    name: str

    def generate(self, requests: Sequence[GenRequest]) -> list[list[Completion]]:
        """One list of ``request.n`` completions per request, in request order."""
        ...


def finish_text(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """Cut ``text`` at the first stop string; say whether one was found.

    >>> finish_text("2 + 3 = 5\\nnext", ["\\n"])
    ('2 + 3 = 5', True)
    >>> finish_text("abc", [])
    ('abc', False)
    """
    cut = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)
