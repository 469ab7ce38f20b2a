"""Imported by the forkserver before it forks verifier workers: warms sympy/math-verify.

Never imported by ``import verifiers`` itself (that must stay fast).
"""

from .worker import warm

warm()
