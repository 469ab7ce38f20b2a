"""Guided search with a PRM: best-of-N, weighted self-consistency, step-level greedy, beam and lookahead."""
