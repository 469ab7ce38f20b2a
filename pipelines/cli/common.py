"""What several commands share: the engine options, building the engine, and loading problems."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Sequence

from data.assets import default_policy_path

STEP_STYLES = ("newline", "paragraph", "step_marker")


def add_engine_args(p: argparse.ArgumentParser, default: str = "vllm") -> None:
    p.add_argument("--engine", choices=["vllm", "hf", "openai"], default=default)
    p.add_argument("--policy", default=str(default_policy_path()),
                   help="HF checkpoint of the policy (default: the embedded tiny policy)")
    p.add_argument("--base-url", default=None, help="openai engine: server URL, e.g. http://127.0.0.1:8000/v1")
    p.add_argument("--served-model", default=None, help="openai engine: model name on the server")
    p.add_argument("--tensor-parallel-size", type=int, default=1, help="vllm engine on GPU")
    p.add_argument("--max-model-len", type=int, default=512,
                   help="vllm engine: context length (the tiny policy has 512; real models want 1024 or more)")
    p.add_argument("--kv-cache-bytes", type=int, default=512 << 20, help="vllm engine on CPU: KV cache size")


def engine_kwargs(args) -> dict:
    """Keyword arguments of the engine named on the command line (``openai``: its server)."""
    if args.engine == "openai":
        if not args.base_url:
            raise ValueError("--engine openai needs --base-url")
        return {"base_url": args.base_url, "model": args.served_model}
    if not Path(args.policy).is_dir():
        raise ValueError(f"--policy {args.policy}: no such checkpoint directory")
    kwargs = {"model": str(Path(args.policy).resolve())}
    if args.engine == "vllm":
        kwargs.update(max_model_len=args.max_model_len, kv_cache_memory_bytes=args.kv_cache_bytes)
        if args.tensor_parallel_size > 1:
            kwargs["tensor_parallel_size"] = args.tensor_parallel_size
    else:
        kwargs["max_model_len"] = args.max_model_len
    return kwargs


def build_engine(args, cache_dir: str | Path | None = None):
    from engines import make_engine
    from engines.runtime import configure_runtime

    configure_runtime(cache_dir)
    return make_engine(args.engine, **engine_kwargs(args))


def policy_name(args) -> str:
    if args.engine == "openai" and args.served_model:
        return args.served_model
    return Path(args.policy).name


def load_cli_problems(path: str | None, limit: int | None, default: str = "heldout"):
    """Problems from ``path`` (JSONL, Parquet, HF dataset; the first ``limit``), or without a path
    ``limit`` synthetic problems of the ``default`` split (``heldout`` or ``train``, disjoint)."""
    if path:
        from data.loaders import load_problems

        return load_problems(path, limit=limit or None)
    if default not in ("heldout", "train"):
        raise ValueError(f"no problems file and no default split {default!r}")
    from data.synthetic import SynthSplit

    return getattr(SynthSplit(), default)(limit)


def print_fields(summary: dict, keys: Sequence[str], out: str | Path | None = None) -> None:
    """The named fields of a summary as JSON, then the output directory."""
    print(json.dumps({k: summary[k] for k in keys if k in summary}, indent=2))
    if out is not None:
        print(f"output directory: {out}")
