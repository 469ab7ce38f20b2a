"""``QwenPRMScorer``: a Qwen2.5-Math-PRM-style PRM on transformers (``--prm-format qwen-prm``).

The solution is rendered with the PRM's own chat template, as Qwen2.5-Math-PRM's model card does:
a system message (``Please reason step by step, and put your final answer within \\boxed{}.``), the
problem as the user message, and the steps joined by ``<extra_0>`` with one more ``<extra_0>`` at the
end as the assistant message. A two-class token-classification head reads every position; the score of
step ``i`` is P(positive) = ``softmax(logits)[1]`` at the ``i``-th separator.

>>> from prm_training.byo_prm import PRMFormat
>>> qwen_prm_messages(PRMFormat("qwen-prm"), "What is 2 + 3?", ["2 + 3 = 5", "The answer is 5"])[2]
{'role': 'assistant', 'content': '2 + 3 = 5<extra_0>The answer is 5<extra_0>'}

Two architectures load: ``Qwen2ForProcessRewardModel`` (the published two-layer head
``score = Linear(h, h), ReLU, Linear(h, 2)``, built here so no remote code is run) and any
``*ForTokenClassification`` with two labels (transformers' one-layer ``score``, as TRL trains PRMs).
``vllm_scorer.VLLMQwenPRMScorer`` scores the same checkpoints on vLLM's pooling runner.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from prm_training.byo_prm import PRMFormat
from prm_training.scoring import EncodedStepScorer, as_item, fit_ids

POSITIVE = 1  # the head's label order: 0 = the step is wrong, 1 = it is right


def qwen_prm_messages(fmt: PRMFormat, question: str, steps: Sequence[str]) -> list[dict[str, str]]:
    """System, user and assistant messages; a separator inside a step is removed (it would add a score)."""
    sep = fmt.step_tag
    messages = [] if fmt.system_prompt is None else [{"role": "system", "content": fmt.system_prompt}]
    body = "".join(s.replace(sep, "") + sep for s in steps)
    return messages + [{"role": "user", "content": question}, {"role": "assistant", "content": body}]


def encode_qwen_prm(tokenizer, fmt: PRMFormat, sep_id: int, question: str,
                    steps: Sequence[str]) -> tuple[list[int], list[int]]:
    """Token ids of the rendered conversation and the positions of its separators, one per step."""
    text = tokenizer.apply_chat_template(qwen_prm_messages(fmt, question, steps), tokenize=False,
                                         add_generation_prompt=False)
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    positions = [i for i, t in enumerate(ids) if t == sep_id]
    if len(positions) != len(steps):
        raise ValueError(f"qwen-prm: found {len(positions)} separators {fmt.step_tag!r} for {len(steps)} steps "
                         "(does the question or the system prompt hold one, or does the template drop text?)")
    return ids, positions


def separator_id(tokenizer, fmt: PRMFormat, path: str | Path) -> int:
    """The id of the step separator, which must be a single token of the PRM's tokenizer."""
    ids = tokenizer(fmt.step_tag, add_special_tokens=False)["input_ids"]
    if len(ids) != 1:
        raise ValueError(f"--prm {path}: the step separator {fmt.step_tag!r} is not a single token of its "
                         f"tokenizer ({ids}); name the PRM's separator with --prm-step-tag")
    return int(ids[0])


def process_reward_model_class():
    """``Qwen2ForProcessRewardModel``: a Qwen2 backbone and Qwen2.5-Math-PRM's two-layer token head."""
    from torch import nn
    from transformers import Qwen2Model, Qwen2PreTrainedModel

    class Qwen2ForProcessRewardModel(Qwen2PreTrainedModel):
        def __init__(self, config):
            super().__init__(config)
            self.num_labels = 2
            self.model = Qwen2Model(config)
            self.score = nn.Sequential(nn.Linear(config.hidden_size, config.hidden_size), nn.ReLU(),
                                       nn.Linear(config.hidden_size, self.num_labels))
            self.post_init()

        def forward(self, input_ids=None, attention_mask=None, **kwargs):
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask, **kwargs).last_hidden_state
            return (self.score(hidden),)

    return Qwen2ForProcessRewardModel


def load_token_classifier(path: str | Path):
    """``(model, tokenizer)`` of a two-class token-classification PRM, in float32 and evaluation mode."""
    import torch
    from transformers import AutoConfig, AutoModelForTokenClassification, AutoTokenizer

    config = AutoConfig.from_pretrained(str(path))
    arch = (getattr(config, "architectures", None) or ["?"])[0]
    if arch == "Qwen2ForProcessRewardModel":
        model = process_reward_model_class().from_pretrained(str(path), dtype=torch.float32)
    elif arch.endswith("ForTokenClassification"):
        model = AutoModelForTokenClassification.from_pretrained(str(path), dtype=torch.float32)
        if model.config.num_labels != 2:
            raise ValueError(f"--prm {path}: a token classifier with {model.config.num_labels} labels; "
                             "--prm-format qwen-prm needs two (wrong, right)")
    else:
        raise ValueError(f"--prm {path}: architecture {arch} is not a token-classification PRM; --prm-format "
                         "qwen-prm takes Qwen2ForProcessRewardModel or *ForTokenClassification checkpoints")
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model.eval(), tokenizer


class QwenPRMScorer(EncodedStepScorer):
    """P(positive) at each step separator of a token-classification PRM, on transformers."""

    def __init__(self, model, tokenizer, fmt: PRMFormat, path: str | Path = "", batch_size: int = 8,
                 max_length: int | None = None):
        self.model, self.tokenizer, self.fmt, self.batch_size = model, tokenizer, fmt, batch_size
        self.sep_id = separator_id(tokenizer, fmt, path)
        model_max = getattr(model.config, "max_position_embeddings", None) or 4096
        self.max_length = min(max_length or model_max, model_max)
        self.config = None

    @classmethod
    def from_pretrained(cls, path: str | Path, fmt: PRMFormat, batch_size: int = 8,
                        max_length: int | None = None) -> "QwenPRMScorer":
        model, tokenizer = load_token_classifier(path)
        return cls(model, tokenizer, fmt, path, batch_size, max_length)

    def _encode(self, item: Any, truncate: bool) -> tuple[list[int], list[int]]:
        question, steps = as_item(item)
        if not steps:
            return [], []
        ids, positions = encode_qwen_prm(self.tokenizer, self.fmt, self.sep_id, question, steps)
        return fit_ids(ids, positions, self.max_length, truncate)

    def _score(self, encoded: list[tuple[list[int], list[int]]]) -> list[list[float]]:
        import torch

        results: list[list[float]] = [[] for _ in encoded]
        todo = [i for i, (_, positions) in enumerate(encoded) if positions]
        pad = self.tokenizer.pad_token_id
        with torch.inference_mode():
            for k in range(0, len(todo), self.batch_size):
                chunk = todo[k:k + self.batch_size]
                width = max(len(encoded[i][0]) for i in chunk)
                ids = torch.full((len(chunk), width), pad, dtype=torch.long)
                mask = torch.zeros((len(chunk), width), dtype=torch.long)
                for row, i in enumerate(chunk):
                    n = len(encoded[i][0])
                    ids[row, :n] = torch.tensor(encoded[i][0])
                    mask[row, :n] = 1
                out = self.model(input_ids=ids, attention_mask=mask)
                logits = out[0] if isinstance(out, tuple) else out.logits
                probs = logits.float().softmax(dim=-1)[..., POSITIVE]
                for row, i in enumerate(chunk):
                    results[i] = probs[row, encoded[i][1]].tolist()
        return results
