"""PRM training data: StepLabels Parquet -> a train/validation split by problem -> tokenized examples.

The split hashes ``problem_id`` alone, so it does not depend on the seed, the row order or
the other problems, and every trace of a problem lands on the same side.

>>> split_of("p1", 0.0), split_of("p1", 1.0)
('train', 'val')
>>> split_of("p1", 0.3) == split_of("p1", 0.3)
True
>>> target_values({"labels": [True, False], "soft_labels": [0.75, 0.25]}, "soft")
[0.75, 0.25]
>>> target_values({"labels": [True, False], "soft_labels": [0.75, 0.25]}, "hard")
[1.0, 0.0]

No torch at import.
"""
from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from prm_training.prm_format import PRMTokens, encode_steps

LABEL_TYPES = ("hard", "soft")
SPLIT_SALT = "prm-split-v1"


def label_files(path: str | Path) -> list[Path]:
    """The StepLabels Parquet files under ``path``: a label run directory (its ``labels/``), a folder
    holding several runs, or one file. Files of other record types (``rollouts/``) are skipped."""
    import pyarrow.parquet as pq

    from data.parquet_io import parquet_files

    path = Path(path)
    if (path / "labels").is_dir():
        path = path / "labels"
    files = []
    for f in parquet_files(path):
        meta = pq.read_schema(f).metadata or {}
        if meta.get(b"record_type", b"StepLabels") == b"StepLabels":
            files.append(f)
    if not files:
        raise FileNotFoundError(f"no StepLabels Parquet files under {path}")
    return files


def load_label_rows(path: str | Path) -> list[dict[str, Any]]:
    """StepLabels rows (dicts) from ``label_files(path)``, in file order."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.concat_tables([pq.read_table(f) for f in label_files(path)], promote_options="default")
    rows = table.to_pylist()
    if not rows:
        raise ValueError(f"{path}: no label rows")
    missing = {"prompt", "completions", "labels", "soft_labels", "problem_id"} - set(rows[0])
    if missing:
        raise ValueError(f"{path}: not StepLabels rows, missing columns {sorted(missing)}")
    return rows


def split_of(problem_id: str, val_fraction: float) -> str:
    """``"val"`` for a deterministic ``val_fraction`` of problem ids, else ``"train"``."""
    digest = hashlib.sha256(f"{SPLIT_SALT}:{problem_id}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    return "val" if u < val_fraction else "train"


def template_mismatch(prompts: Sequence[str], prompter) -> str | None:
    """A warning when the labels' prompts do not carry the text ``prompter`` (the PRM's base) puts around a
    question: the PRM then learns from the labels' rendering but renders new questions in search with its
    base's own. ``None`` when every prompt matches.

    >>> from labelers.prompter import Prompter
    >>> template_mismatch(["What is 2 + 3?\\n"], Prompter.plain()) is None
    True
    >>> template_mismatch(["[user] What is 2 + 3?"], Prompter.plain())[:40]
    '1 of 1 label prompts were not rendered a'
    """
    sentinel = "\x00question\x00"
    prefix, _, suffix = prompter.question_prompt(sentinel).partition(sentinel)
    off = sum(not (p.startswith(prefix) and p.endswith(suffix) and len(p) >= len(prefix) + len(suffix))
              for p in prompts)
    if not off:
        return None
    return (f"{off} of {len(prompts)} label prompts were not rendered as this PRM's base renders a question "
            f"({prompter.fmt.kind} format); the PRM learns from them as written, but search and rl render new "
            "questions with the base's own template, so its scores there may differ from its validation figures; "
            "base the PRM on an LM with the sampler's chat template")


def split_rows(rows: Sequence[dict], val_fraction: float) -> tuple[list[dict], list[dict]]:
    train, val = [], []
    for row in rows:
        (val if split_of(row["problem_id"], val_fraction) == "val" else train).append(row)
    return train, val


def target_values(row: dict, label_type: str) -> list[float]:
    """The per-step training targets as floats: MC soft labels kept as they are, or 0/1 hard labels."""
    if label_type == "soft":
        return [float(x) for x in row["soft_labels"]]
    if label_type == "hard":
        return [1.0 if x else 0.0 for x in row["labels"]]
    raise ValueError(f"label_type must be one of {LABEL_TYPES}, got {label_type!r}")


@dataclass
class PRMExample:
    input_ids: list[int]
    tag_positions: list[int]
    targets: list[float]  # one per tag position, in [0, 1]
    trace_id: str = ""
    row_index: int = -1  # position of the source row in the list given to make_examples
    # dense distillation targets (PRMTrainConfig.distill_weight): P(good) at non-tag solution positions
    aux_positions: list[int] = field(default_factory=list)
    aux_targets: list[float] = field(default_factory=list)


def make_examples(rows: Sequence[dict], tokenizer, tokens: PRMTokens, label_type: str,
                  max_length: int) -> list[PRMExample]:
    """Tokenize rows; steps whose tag falls past ``max_length`` lose their target, empty rows are dropped."""
    examples = []
    for index, row in enumerate(rows):
        steps = list(row["completions"])
        targets = target_values(row, label_type)
        if len(targets) != len(steps):
            raise ValueError(f"trace {row.get('trace_id')}: {len(steps)} steps but {len(targets)} labels")
        if not steps:
            continue
        ids, positions = encode_steps(tokenizer, row["prompt"], steps, tokens, max_length,
                                      add_special_tokens=not row.get("prompt_format") or _is_plain(row))
        if positions:
            examples.append(PRMExample(ids, positions, targets[: len(positions)], row.get("trace_id", ""), index))
    return examples


def _is_plain(row: dict) -> bool:
    return '"kind": "plain"' in (row.get("prompt_format") or '"kind": "plain"')


def labels_prompt_format(rows: Sequence[dict]) -> dict:
    """The one prompt format all label rows were made in (``{}`` for the plain format of a base model).

    >>> labels_prompt_format([{"prompt_format": ""}, {}])
    {}
    >>> labels_prompt_format([{"prompt_format": '{"kind": "chat"}'}])
    {'kind': 'chat'}
    """
    found = {row.get("prompt_format") or "" for row in rows}
    if len(found) > 1:
        raise ValueError(f"labels: field prompt_format: the rows mix {len(found)} prompt formats "
                         f"({sorted(found)[:2]}...); train a PRM on labels of one format")
    text = found.pop() if found else ""
    return json.loads(text) if text else {}


def load_split_examples(labels, tokenizer, tokens: PRMTokens, label_type: str, max_length: int,
                        val_fraction: float):
    """``(train_rows, val_rows, train_examples, val_examples)`` of a label run, split by problem."""
    train_rows, val_rows = split_rows(load_label_rows(labels), val_fraction)
    train = make_examples(train_rows, tokenizer, tokens, label_type, max_length)
    val = make_examples(val_rows, tokenizer, tokens, label_type, max_length)
    if not train:
        raise ValueError(f"no training examples in {labels} (val_fraction {val_fraction})")
    return train_rows, val_rows, train, val


def batches(examples: Sequence[PRMExample], batch_size: int, shuffle: bool, seed: int = 0,
            epoch: int = 0) -> list[list[PRMExample]]:
    """Fixed-size batches; the shuffle order depends only on ``(seed, epoch)``, so a resumed epoch repeats it."""
    order = list(range(len(examples)))
    if shuffle:
        random.Random(f"{seed}:{epoch}").shuffle(order)
    return [[examples[i] for i in order[k:k + batch_size]] for k in range(0, len(order), batch_size)]


def collate(batch: Sequence[PRMExample], pad_id: int):
    """Right-padded ``input_ids``, ``attention_mask``, a ``tag_mask`` (True at tag positions) and flat targets."""
    import torch

    width = max(len(e.input_ids) for e in batch)
    input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(batch), width), dtype=torch.long)
    tag_mask = torch.zeros((len(batch), width), dtype=torch.bool)
    targets = []
    for i, e in enumerate(batch):
        input_ids[i, : len(e.input_ids)] = torch.tensor(e.input_ids)
        attention[i, : len(e.input_ids)] = 1
        tag_mask[i, e.tag_positions] = True
        targets += e.targets  # positions are increasing, so this matches the row-major order of tag_mask
    return input_ids, attention, tag_mask, torch.tensor(targets, dtype=torch.float32)


def labels_fingerprint(labels: str | Path) -> tuple[str | None, str]:
    """``(run_id, sha256)`` of the training labels.

    For a label run directory (or its ``labels/`` folder, or a file in it) this is the run's
    ``run_id`` and the SHA-256 of its ``manifest.json``. Without a manifest (hand-made files,
    a folder of several runs) it is ``None`` and a hash of the StepLabels files' bytes.
    """
    labels = Path(labels)
    root = labels if labels.is_dir() else labels.parent
    for candidate in (root / "manifest.json", root.parent / "manifest.json"):
        if candidate.exists() and (candidate.parent / "labels").is_dir():
            blob = candidate.read_bytes()
            return json.loads(blob).get("run_id"), hashlib.sha256(blob).hexdigest()
    h = hashlib.sha256()
    for f in label_files(labels):
        h.update(f.name.encode())
        h.update(hashlib.sha256(f.read_bytes()).digest())
    return None, h.hexdigest()
