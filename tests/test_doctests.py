"""Every docstring example in the pure modules runs and holds."""
import doctest
import importlib

import pytest

MODULES = ["data.records", "data.parquet_io", "data.synthetic", "data.prompt_format", "data.errors", "data.assets",
           "labelers.step_split", "labelers.strategies", "labelers.aggregate", "labelers.metrics",
           "pipelines.engines", "pipelines.engines.base", "pipelines.engines.vllm_engine", "pipelines.report",
           "pipelines.engines.vllm_server", "pipelines.convert_gguf", "pipelines.search_select", "pipelines.search",
           "pipelines.search_eval", "pipelines.flywheel", "prm_training.likelihood_prm", "prm_training.oracle_scorer",
           "pipelines.estimate", "pipelines.mc_reward", "prm_training.surprise_circuit", "prm_training.devices"]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
