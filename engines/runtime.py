"""Process-wide settings for a run: offline hub, caches inside the run directory, quiet tokenizers."""
from __future__ import annotations

import os
from pathlib import Path


def configure_runtime(cache_dir: str | Path | None = None) -> None:
    """Set environment defaults before any engine is built (existing values win)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
    if cache_dir is not None:
        os.environ.setdefault("VLLM_CACHE_ROOT", str(Path(cache_dir).resolve() / "vllm_cache"))
