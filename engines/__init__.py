"""A string registry of engines, imported lazily (the verl pattern).

>>> sorted(ENGINES)
['hf', 'openai', 'vllm']
"""
from __future__ import annotations

import importlib

from engines.base import Completion, Engine, EngineStats, GenRequest, SamplingConfig

ENGINES = {
    "vllm": "engines.vllm_engine:VLLMEngine",
    "hf": "engines.hf_engine:HFEngine",
    "openai": "engines.openai_engine:OpenAIEngine",
}


def engine_class(name: str):
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}; choose one of {sorted(ENGINES)}")
    module, cls = ENGINES[name].split(":")
    return getattr(importlib.import_module(module), cls)


def make_engine(name: str, **kwargs) -> Engine:
    """Build an engine by name; each engine imports its heavy library only here."""
    return engine_class(name)(**kwargs)


__all__ = ["Completion", "Engine", "EngineStats", "GenRequest", "SamplingConfig", "ENGINES", "engine_class", "make_engine"]
