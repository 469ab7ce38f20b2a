"""The prefix-cache ceiling: the largest share of prompt tokens any cache could serve, from the requests alone.

A paged prefix cache (vLLM's) serves whole blocks of ``block_size`` tokens, identified by the tokens
from the start of the prompt to the end of the block, and never the block holding a prompt's last
token when the whole prompt is cached (its logits must be computed): a sequence of ``L`` prompt
tokens can be served at most ``(L - 1) // block_size`` blocks. Each of the ``n`` samples of a
request is one sequence and asks for its whole prompt (vLLM's ``prefix_cache_queries``).

Some sequence must compute each distinct block the first time it is needed, and that block is a
miss for it, unless some sequence holds the block as its unservable last block anyway (a prompt
whose length is a multiple of the block size): that one can compute it first. An unbounded cache
that sees every prefix before its extensions reaches exactly::

    ceiling = (sum over sequences of servable tokens  -  block_size * distinct blocks that must miss)
              / (sum over sequences of prompt tokens)

>>> c = CacheCeiling(block_size=2)
>>> c.add([1, 2, 3, 4, 5], n=2)   # 2 servable blocks per sample, both new: the second sample hits them
>>> c.add([1, 2, 3, 9], n=1)      # (1, 2) is cached; (1, 2, 3, 9) is its last block, never servable
>>> c.query_tokens, c.ceiling_hit_tokens, round(c.ceiling_share, 4)
(14, 6, 0.4286)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence


@dataclass
class CacheCeiling:
    """Accumulates requests (prompt token ids and sample count) and reports the ceiling at any time."""

    block_size: int
    query_tokens: int = 0  # prompt tokens over every sequence
    servable_tokens: int = 0  # tokens in blocks each sequence could be served at most
    requests: int = 0
    # block id -> True once the block occurs as some prompt's unservable full last block
    _blocks: dict[int, bool] = field(default_factory=dict, repr=False)
    _servable: set[int] = field(default_factory=set, repr=False)

    def __post_init__(self):
        if self.block_size < 1:
            raise ValueError(f"CacheCeiling.block_size must be >= 1, got {self.block_size}")

    def add(self, token_ids: Sequence[int], n: int = 1) -> None:
        """One request: ``n`` samples of the prompt ``token_ids``."""
        length, size = len(token_ids), self.block_size
        full, servable = length // size, max(0, length - 1) // size
        chain = 0
        for j in range(full):
            chain = hash((chain, tuple(token_ids[j * size:(j + 1) * size])))
            last_only = j >= servable
            self._blocks[chain] = self._blocks.get(chain, False) or last_only
            if not last_only:
                self._servable.add(chain)
        self.query_tokens += n * length
        self.servable_tokens += n * servable * size
        self.requests += 1

    @property
    def must_miss_blocks(self) -> int:
        """Distinct servable blocks that no sequence computes as its unservable last block."""
        return sum(1 for b in self._servable if not self._blocks[b])

    @property
    def ceiling_hit_tokens(self) -> int:
        return self.servable_tokens - self.block_size * self.must_miss_blocks

    @property
    def ceiling_share(self) -> float:
        return self.ceiling_hit_tokens / self.query_tokens if self.query_tokens else 0.0

    def summary(self) -> dict:
        """``{"block_size", "requests", "query_tokens", "ceiling_hit_tokens", "ceiling_share"}``."""
        return {"block_size": self.block_size, "requests": self.requests, "query_tokens": self.query_tokens,
                "ceiling_hit_tokens": self.ceiling_hit_tokens, "ceiling_share": round(self.ceiling_share, 4)}


def ceiling_of(requests: Sequence[tuple[Sequence[int], int]], block_size: int) -> CacheCeiling:
    """The ceiling of a whole request list ``[(token_ids, n), ...]``; the order does not matter.

    >>> ceiling_of([([5, 6, 7], 4)], block_size=2).ceiling_hit_tokens  # one block, computed once, 3 hits
    6
    >>> ceiling_of([([5, 6, 7, 8], 1), ([5, 6, 7, 8, 9], 1)], 2).ceiling_hit_tokens  # (5,6) misses once
    4
    """
    ceiling = CacheCeiling(block_size)
    for token_ids, n in requests:
        ceiling.add(token_ids, n)
    return ceiling
