"""How a PRM sees a solution, and the ``prm_config.json`` that travels with a PRM checkpoint.

Math-Shepherd convention: every step is followed by the step tag, and the PRM's score of a
step is read at that tag token: the softmax over the two logits of the good token ``+`` and
the bad token ``-``, i.e. P(good).

>>> prm_text("What is 2 + 3?\\n", ["2 + 3 = 5", "The answer is 5"])
'What is 2 + 3?\\n2 + 3 = 5 ки\\nThe answer is 5 ки\\n'
>>> prm_text("Q\\n", ["a ки b"])   # a tag inside a step would add a score: it is removed
'Q\\na  b ки\\n'

No torch or transformers at import: the tokenizer is passed in.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

from prm_training.tokenizer_build import STEP_TAG

PRM_CONFIG_NAME = "prm_config.json"
PRM_FORMAT_VERSION = 1
GOOD_TOKEN = "+"
BAD_TOKEN = "-"
TAG_PREFIX = " "  # step + " ки" + "\n"
STEP_SEPARATOR = "\n"


def prm_text(prompt: str, steps: Sequence[str], step_tag: str = STEP_TAG, tag_prefix: str = TAG_PREFIX,
             step_separator: str = STEP_SEPARATOR) -> str:
    """``prompt`` (question + newline, as ``data.prompt_format.build_prompt`` writes it), then each step + tag.

    >>> prm_text("Q\\n", ["1 + 1 = 2", "2 + 2 = 4"], tag_prefix="", step_separator="")
    'Q\\n1 + 1 = 2ки2 + 2 = 4ки'
    """
    return prompt + "".join(s.replace(step_tag, "") + tag_prefix + step_tag + step_separator for s in steps)


@dataclass
class PRMTokens:
    """The step tag and the good/bad tokens, as strings (vocabulary entries) and ids."""

    step_tag: str
    step_tag_id: int
    good_token: str
    good_token_id: int
    bad_token: str
    bad_token_id: int
    # the text around each tag (Math-Shepherd's "step ки\n" by default); not part of equality, so a
    # tokenizer check still matches
    tag_prefix: str = field(default=TAG_PREFIX, compare=False)
    step_separator: str = field(default=STEP_SEPARATOR, compare=False)


def single_token_id(tokenizer, text: str) -> int:
    """The id of ``text`` if the tokenizer encodes it as exactly one token, else ValueError."""
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    if len(ids) != 1:
        raise ValueError(f"{text!r} is not a single token in this tokenizer: {ids}")
    return int(ids[0])


def resolve_tokens(tokenizer, step_tag: str = STEP_TAG, good: str = GOOD_TOKEN, bad: str = BAD_TOKEN) -> PRMTokens:
    """Check that the tag, ``+`` and ``-`` are single tokens and return their ids and vocabulary strings.

    The vocabulary strings (``convert_ids_to_tokens``) are what vLLM's ``classifier_from_token``
    looks up, which need not equal the text for every tokenizer (``"▁+"`` in SentencePiece).
    """
    tag_id, good_id, bad_id = (single_token_id(tokenizer, t) for t in (step_tag, good, bad))
    if len({tag_id, good_id, bad_id}) != 3:
        raise ValueError(f"step tag, good and bad tokens must be distinct ids: {tag_id}, {good_id}, {bad_id}")
    good_str, bad_str = tokenizer.convert_ids_to_tokens([good_id, bad_id])
    return PRMTokens(step_tag, tag_id, good_str, good_id, bad_str, bad_id)


def encode_steps(tokenizer, prompt: str, steps: Sequence[str], tokens: PRMTokens,
                 max_length: int | None = None, add_special_tokens: bool = True) -> tuple[list[int], list[int]]:
    """Token ids of ``prm_text(prompt, steps)`` and the positions of its step tags, one per step.

    With ``max_length``, the ids are cut there and only the tags that survive are returned
    (so ``len(positions)`` may be smaller than ``len(steps)``).
    """
    text = prm_text(prompt, steps, tokens.step_tag, tokens.tag_prefix, tokens.step_separator)
    ids = tokenizer(text, add_special_tokens=add_special_tokens)["input_ids"]
    positions = [i for i, t in enumerate(ids) if t == tokens.step_tag_id]
    if len(positions) != len(steps):
        raise ValueError(f"found {len(positions)} step tags for {len(steps)} steps (does the prompt hold a tag?)")
    if max_length is not None and len(ids) > max_length:
        ids = ids[:max_length]
        positions = [p for p in positions if p < max_length]
    return ids, positions


@dataclass
class PRMConfig:
    """The contents of ``prm_config.json`` next to the HF checkpoint files."""

    tokens: PRMTokens
    label_type: str
    base_model: str
    labels_dir: str = ""
    labels_run_id: str | None = None
    labels_manifest_sha256: str | None = None
    val_fraction: float = 0.0
    max_length: int = 512
    train: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    format_version: int = PRM_FORMAT_VERSION
    kind: str = "tag"  # "tag": Math-Shepherd head at the step tag; "likelihood": prm_training.likelihood_prm
    # How the question was rendered in the training labels (labelers.prompter description; {}: plain), so
    # a scorer renders a new question the same way.
    prompt_format: dict = field(default_factory=dict)

    def prompter(self, tokenizer):
        """The prompter that renders a question as this PRM saw questions in training. Labels written in a chat
        format need a base whose tokenizer has a chat template, or no new question could be rendered that way.

        >>> PRMConfig(tokens=None, label_type="hard", base_model="", prompt_format={"kind": "chat"}).prompter(None)
        Traceback (most recent call last):
        ...
        ValueError: prompt_format: the labels were written in their policy's chat format, and the PRM's base LM has no chat template to render new questions that way; build the PRM on a base with a chat template
        """
        from data.prompt_format import has_chat_template
        from labelers.prompter import parse_format, prompter_from_provenance

        if self.prompt_format and parse_format(self.prompt_format).kind == "chat" and not has_chat_template(tokenizer):
            raise ValueError("prompt_format: the labels were written in their policy's chat format, and the PRM's "
                             "base LM has no chat template to render new questions that way; build the PRM on a "
                             "base with a chat template")
        return prompter_from_provenance(self.prompt_format, tokenizer, empty="plain")

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        tokens = d.pop("tokens")
        d.update(tokens)
        d["vllm"] = vllm_settings(self.tokens)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "PRMConfig":
        token_keys = [f for f in PRMTokens.__dataclass_fields__]
        tokens = PRMTokens(**{k: d[k] for k in token_keys if k in d})
        names = set(cls.__dataclass_fields__) - {"tokens"}
        return cls(tokens=tokens, **{k: v for k, v in d.items() if k in names})

    def save(self, directory: str | Path) -> Path:
        from data.parquet_io import write_json_atomic

        path = Path(directory) / PRM_CONFIG_NAME
        write_json_atomic(path, self.to_json())
        return path

    @classmethod
    def load(cls, directory: str | Path) -> "PRMConfig":
        path = Path(directory) / PRM_CONFIG_NAME
        if not path.exists():
            raise FileNotFoundError(f"{path}: not a PRM checkpoint (no {PRM_CONFIG_NAME})")
        return cls.from_json(json.loads(path.read_text()))


def vllm_settings(tokens: PRMTokens) -> dict[str, Any]:
    """How vLLM 0.32 scores this checkpoint: the causal LM converted to a token classifier.

    ``convert="classify"`` with ``method="no_post_processing"`` builds a 2-label head from the
    LM-head rows of ``[good, bad]``; ``STEP`` pooling keeps the positions of ``step_tag_id``;
    the head's activation is a softmax over the 2 labels, so column 0 is P(good).
    """
    return {
        "runner": "pooling",
        "convert": "classify",
        "hf_overrides": {"classifier_from_token": [tokens.good_token, tokens.bad_token],
                         "method": "no_post_processing"},
        "pooler_config": {"task": "token_classify", "pooling_type": "STEP", "step_tag_id": tokens.step_tag_id},
        "pooling_task": "token_classify",
    }
