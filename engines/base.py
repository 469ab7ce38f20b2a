"""The one protocol every generation engine implements, its request/response records, and the
sampling settings every stage shares.

>>> GenRequest(prompt="2 + 3 =", n=2, seed=7).n
2
>>> SamplingConfig(temperature=0.7, max_tokens=64).request("2 + 3 =", n=4, seed=11)
GenRequest(prompt='2 + 3 =', n=4, temperature=0.7, top_p=1.0, max_tokens=64, stop=(), seed=11, add_special_tokens=True)
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
    # False for a prompt rendered by a chat template, which already holds the special tokens it needs
    # (a second BOS would put the prompt out of distribution).
    add_special_tokens: bool = True

    def __post_init__(self):
        if self.n < 1:
            raise ValueError(f"GenRequest.n must be >= 1, got {self.n}")
        if self.max_tokens < 1:
            raise ValueError(f"GenRequest.max_tokens must be >= 1, got {self.max_tokens}")


@dataclass
class SamplingConfig:
    """How a stage samples from the policy: one set of fields for generate, label, search, RL and RFT.

    Each stage's config extends it (``LabelConfig(SamplingConfig)``, ...), so the fields, their
    checks and the request they build are written once; a stage may change a default.
    """

    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 200
    seed: int = 0

    def __post_init__(self):
        name = type(self).__name__
        if self.temperature < 0:
            raise ValueError(f"{name}.temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"{name}.top_p must be in (0, 1], got {self.top_p}")
        if self.max_tokens < 1:
            raise ValueError(f"{name}.max_tokens must be >= 1, got {self.max_tokens}")

    @property
    def sampling(self) -> "SamplingConfig":
        return SamplingConfig(self.temperature, self.top_p, self.max_tokens, self.seed)

    def request(self, prompt: str, n: int = 1, seed: int | None = None, stop: tuple[str, ...] = (),
                temperature: float | None = None, max_tokens: int | None = None,
                add_special_tokens: bool = True) -> GenRequest:
        """A request with these settings; ``seed`` is the request's own (derived from its content)."""
        return GenRequest(prompt, n=n, temperature=self.temperature if temperature is None else temperature,
                          top_p=self.top_p, max_tokens=max_tokens or self.max_tokens, stop=tuple(stop), seed=seed,
                          add_special_tokens=add_special_tokens)


@dataclass(frozen=True)
class Completion:
    text: str
    n_tokens: int
    finish_reason: str  # "stop" (eos or a stop string) or "length"
    token_ids: tuple[int, ...] | None = None  # the sampled tokens, where the engine hands them out (hf)


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
