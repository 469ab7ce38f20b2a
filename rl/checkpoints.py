"""Numbered checkpoints of a training run (``prm-factory rl``, ``prm-factory rft``).

``OUT/checkpoints/<prefix>-N/`` holds the weights (and tokenizer), ``trainer.pt`` (optimizer and
RNG state) and ``state.json``, written last: a checkpoint without it is incomplete and ignored.
Only the newest checkpoint is kept.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from data.parquet_io import write_json_atomic

CHECKPOINTS = "checkpoints"
STATE = "state.json"
TRAINER = "trainer.pt"


def latest_checkpoint(out: Path, prefix: str) -> Path | None:
    """The complete checkpoint with the highest number, or None."""
    root = Path(out) / CHECKPOINTS
    done = [p for p in root.glob(f"{prefix}-*") if (p / STATE).exists()] if root.is_dir() else []
    return max(done, key=lambda p: int(p.name.rsplit("-", 1)[1]), default=None)


def save_checkpoint(out: Path, prefix: str, number: int, model, trainer_state: dict[str, Any],
                    state: dict[str, Any], tokenizer=None) -> Path:
    """Write checkpoint ``number`` (``state.json`` last), then remove the older ones."""
    import torch

    path = Path(out) / CHECKPOINTS / f"{prefix}-{number}"
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    model.save_pretrained(path, safe_serialization=True)
    if tokenizer is not None:
        tokenizer.save_pretrained(path)
    torch.save(trainer_state, path / TRAINER)
    write_json_atomic(path / STATE, state)
    for old in (Path(out) / CHECKPOINTS).glob(f"{prefix}-*"):
        if old != path:
            shutil.rmtree(old)
    return path


def read_log(path: Path, key: str, upto: int) -> list[dict]:
    """The JSON lines of ``path`` whose ``key`` is at most ``upto``: lines written after the checkpoint a
    run resumes from are dropped."""
    if not Path(path).exists():
        return []
    lines = [json.loads(x) for x in Path(path).read_text().splitlines() if x.strip()]
    return [x for x in lines if x[key] <= upto]
