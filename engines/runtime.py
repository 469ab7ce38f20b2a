"""Process-wide settings for a run: offline hub, quiet tokenizers and engine logs.

vLLM's compile cache stays where vLLM keeps it (``VLLM_CACHE_ROOT``, by default ``~/.cache/vllm``), shared
by every run: only the first engine built for a model and configuration compiles, and later commands
start from the cache.
"""
from __future__ import annotations

import os


def configure_runtime() -> None:
    """Set environment defaults before any engine is built (existing values win)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
