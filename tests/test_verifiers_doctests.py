"""Every docstring example in the verifiers package runs and holds."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "verifiers",
    "verifiers.types",
    "verifiers.arithmetic",
    "verifiers.extract",
    "verifiers.normalize",
    "verifiers.numeric",
    "verifiers.screen",
    "verifiers.structure",
    "verifiers.latex_expr",
    "verifiers.exact",
    "verifiers.relations",
    "verifiers.scalar",
    "verifiers.launch",
    "verifiers.batch",
    "verifiers.equivalence",
    "verifiers.symbolic",
    "verifiers.worker",
    "verifiers.baseline",
    "verifiers.pool",
    "verifiers.api",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
