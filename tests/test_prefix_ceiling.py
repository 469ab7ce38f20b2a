"""The prefix-cache ceiling equals what an unbounded block cache serves when prefixes come before extensions."""
import random

import pytest

from engines.prefix_cache import CacheCeiling, ceiling_of


def served_in_order(requests, block_size):
    """Replay ``(token_ids, n)`` requests through an unbounded cache of whole blocks, as vLLM serves them:
    the longest run of cached full blocks from the start, never the block of a fully cached prompt's last token."""
    cached, hits = set(), 0
    for tokens, n in requests:
        full, servable = len(tokens) // block_size, max(0, len(tokens) - 1) // block_size
        chains = [tuple(tokens[: (j + 1) * block_size]) for j in range(full)]
        for _ in range(n):
            run = 0
            while run < servable and chains[run] in cached:
                run += 1
            hits += run * block_size
            cached.update(chains)
    return hits


@pytest.mark.parametrize("seed", range(20))
def test_ceiling_is_reached_by_prefix_order_and_never_beaten(seed):
    rng = random.Random(seed)
    block = rng.choice([1, 2, 3, 4])
    stems = [[rng.randrange(3) for _ in range(rng.randint(0, 12))] for _ in range(4)]
    requests = []
    for _ in range(rng.randint(1, 12)):
        stem = rng.choice(stems)
        tokens = stem[: rng.randint(0, len(stem))] + [rng.randrange(3) for _ in range(rng.randint(1, 6))]
        requests.append((tokens, rng.randint(1, 4)))
    ceiling = ceiling_of(requests, block)
    in_prefix_order = served_in_order(sorted(requests, key=lambda r: r[0]), block)
    assert in_prefix_order == ceiling.ceiling_hit_tokens
    for _ in range(5):  # any other order serves at most the ceiling
        shuffled = requests[:]
        rng.shuffle(shuffled)
        assert served_in_order(shuffled, block) <= ceiling.ceiling_hit_tokens
    assert ceiling.query_tokens == sum(len(t) * n for t, n in requests)


def test_bad_block_size_is_refused():
    with pytest.raises(ValueError, match="block_size"):
        CacheCeiling(0)
