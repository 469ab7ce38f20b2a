"""Bring your own PRM: checkpoints that were not trained here and have no ``prm_config.json``.

``PRMFormat`` says how such a checkpoint reads a solution (``--prm-format`` on the command line):

- ``math-shepherd``: a causal LM scored at a step tag (default ``ки``) by its good and bad tokens
  (default ``+``/``-``): P(good) = softmax(logit good, logit bad)[0] at each tag. The input is
  ``question + " " + step + " ки\\n" + ...``, as Math-Shepherd's published usage writes it. It runs
  through ``tag_scorer.TagPRMScorer`` and ``vllm_scorer.VLLMPRMScorer`` with a ``PRMConfig`` made in
  memory (``math_shepherd_config``).
- ``qwen-prm``: Qwen2.5-Math-PRM's chat template with ``<extra_0>`` after each step and a two-class
  token head; P(positive) at each separator (``qwen_prm``, ``vllm_scorer.VLLMQwenPRMScorer``).

>>> PRMFormat("math-shepherd").step_tag, PRMFormat("qwen-prm").step_tag
('ки', '<extra_0>')
>>> fmt = PRMFormat("qwen-prm", system_prompt=None)
>>> PRMFormat.from_dict(fmt.to_dict()) == fmt
True
>>> MathShepherdPrompter().question_prompt("What is 2 + 3? ")
'What is 2 + 3? '

A *PRM view* (``write_prm_view``) is a directory of links to the checkpoint's files plus a
``prm_config.json`` that holds only the format: any command that takes a PRM path (``rl``, ``rft``,
the verl adapter) then loads it, and a content hash of the view pins the checkpoint's content.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from data.prompt_format import DEFAULT_INSTRUCTION
from prm_training.prm_format import BAD_TOKEN, GOOD_TOKEN, PRM_CONFIG_NAME
from prm_training.tokenizer_build import STEP_TAG

MATH_SHEPHERD = "math-shepherd"
QWEN_PRM = "qwen-prm"
PRM_FORMATS = (MATH_SHEPHERD, QWEN_PRM)
QWEN_SEPARATOR = "<extra_0>"
_DEFAULT_TAG = {MATH_SHEPHERD: STEP_TAG, QWEN_PRM: QWEN_SEPARATOR}
_UNSET = "\0unset"


@dataclasses.dataclass(frozen=True)
class PRMFormat:
    """How a third-party PRM checkpoint reads a solution; options that do not apply to ``name`` raise.

    >>> PRMFormat("qwen-prm", good_token="yes")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: prm format qwen-prm: field good_token: a qwen-prm PRM reads a two-class head, not tokens ...
    """

    name: str
    step_tag: str | None = None  # math-shepherd: the tag token; qwen-prm: the separator after each step
    good_token: str | None = None  # math-shepherd only
    bad_token: str | None = None  # math-shepherd only
    system_prompt: str | None = _UNSET  # qwen-prm only; None: no system message

    def __post_init__(self) -> None:
        if self.name not in PRM_FORMATS:
            raise ValueError(f"prm format: field name: unknown format {self.name!r} (expected one of "
                             f"{', '.join(PRM_FORMATS)}; option --prm-format)")
        if self.name == QWEN_PRM:
            for field in ("good_token", "bad_token"):
                if getattr(self, field) is not None:
                    raise ValueError(f"prm format qwen-prm: field {field}: a qwen-prm PRM reads a two-class head, "
                                     f"not tokens (option --prm-{field.replace('_', '-')})")
        elif self.system_prompt not in (_UNSET, None):
            raise ValueError("prm format math-shepherd: field system_prompt: a math-shepherd PRM has no chat "
                             "template (option --prm-system-prompt)")
        defaults = {"step_tag": _DEFAULT_TAG[self.name]}
        if self.name == MATH_SHEPHERD:
            defaults.update(good_token=GOOD_TOKEN, bad_token=BAD_TOKEN, system_prompt=None)
        elif self.system_prompt == _UNSET:
            defaults["system_prompt"] = DEFAULT_INSTRUCTION
        for field, value in defaults.items():
            if getattr(self, field) in (None, _UNSET):
                object.__setattr__(self, field, value)
        for field in ("step_tag", "good_token", "bad_token"):
            value = getattr(self, field)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ValueError(f"prm format {self.name}: field {field}: expected a non-empty string, got {value!r}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "PRMFormat":
        names = [f.name for f in dataclasses.fields(cls)]
        if not isinstance(data, dict) or any(k not in names for k in data) or "name" not in data:
            raise ValueError(f"prm format: expected a mapping with 'name' and fields of {names}, got {data!r}")
        return cls(**data)


@dataclasses.dataclass(frozen=True)
class MathShepherdPrompter:
    """The question as Math-Shepherd's usage writes it before the steps: ``question + " "``."""

    add_special_tokens: bool = True
    delimiter: str = "\n"

    def question_prompt(self, question: str) -> str:
        return question.rstrip() + " "


def as_format(fmt: "PRMFormat | str | dict | None") -> "PRMFormat | None":
    """A ``PRMFormat`` from a name, a mapping or itself; None stays None."""
    if fmt is None or isinstance(fmt, PRMFormat):
        return fmt
    if isinstance(fmt, dict):
        return PRMFormat.from_dict(fmt)
    return PRMFormat(str(fmt))


def view_format(path: str | Path) -> "PRMFormat | None":
    """The format a PRM view's ``prm_config.json`` holds; None for a PRM trained here (or no config)."""
    config = Path(path) / PRM_CONFIG_NAME
    if not config.exists():
        return None
    data = json.loads(config.read_text())
    return PRMFormat.from_dict(data["prm_format"]) if "prm_format" in data else None


def model_max_length(path: str | Path, default: int = 4096) -> int:
    """The checkpoint's context length (``max_position_embeddings``)."""
    config = json.loads((Path(path) / "config.json").read_text())
    text = config.get("text_config") or config
    return int(text.get("max_position_embeddings") or default)


def math_shepherd_config(path: str | Path, tokenizer, fmt: PRMFormat, max_length: int | None = None):
    """The ``PRMConfig`` a math-shepherd checkpoint would carry: its tag and good/bad tokens (checked to be
    single tokens of its tokenizer) and its context length."""
    from prm_training.prm_format import PRMConfig, resolve_tokens

    try:
        tokens = resolve_tokens(tokenizer, fmt.step_tag, fmt.good_token, fmt.bad_token)
    except ValueError as exc:
        raise ValueError(f"--prm {path}: {exc}; name the PRM's tokens with --prm-step-tag, --prm-good-token "
                         "and --prm-bad-token") from None
    limit = model_max_length(path)
    return PRMConfig(tokens=tokens, label_type="external", base_model=Path(path).name,
                     max_length=min(max_length or limit, limit), train={"prm_format": fmt.to_dict()})


def write_prm_view(checkpoint: str | Path, fmt: PRMFormat, out: str | Path) -> Path:
    """A directory that links to every top-level entry of ``checkpoint`` and holds a ``prm_config.json``
    with ``fmt``: a PRM path that every loader takes. Rewriting the same view is a no-op."""
    checkpoint = Path(checkpoint).resolve()
    if not (checkpoint / "config.json").exists():
        raise ValueError(f"--prm {checkpoint}: not an HF checkpoint directory (no config.json)")
    if (checkpoint / PRM_CONFIG_NAME).exists():
        raise ValueError(f"--prm {checkpoint}: has a {PRM_CONFIG_NAME} already; leave out --prm-format")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    names = {e.name for e in checkpoint.iterdir()} | {PRM_CONFIG_NAME}
    stale = sorted(e.name for e in out.iterdir() if e.name not in names)
    if stale:
        raise ValueError(f"PRM view {out}: holds {stale[0]}, which {checkpoint} does not; remove the view")
    for entry in checkpoint.iterdir():
        link = out / entry.name
        if link.is_symlink() and link.resolve() == entry.resolve():
            continue
        if link.exists() or link.is_symlink():
            raise ValueError(f"PRM view {out}: {entry.name} exists and does not link to {entry}; remove the view")
        link.symlink_to(entry, target_is_directory=entry.is_dir())
    config = {"kind": fmt.name, "prm_format": fmt.to_dict(), "checkpoint": checkpoint.name}
    (out / PRM_CONFIG_NAME).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    return out
