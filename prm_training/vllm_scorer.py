"""``VLLMPRMScorer``: the same PRM checkpoint scored through vLLM's pooling runner.

vLLM 0.32 has no "reward" conversion for a causal LM any more; this is how it scores a
Math-Shepherd-style PRM (settings in ``prm_format.vllm_settings``, stored in ``prm_config.json``):

- ``runner="pooling", convert="classify"`` turns ``LlamaForCausalLM`` into a classifier;
- ``hf_overrides={"classifier_from_token": ["+", "-"], "method": "no_post_processing"}`` makes
  its 2-label head the LM-head rows of the good and bad tokens (``load_weights_no_post_processing``);
- ``PoolerConfig(task="token_classify", pooling_type="STEP", step_tag_id=...)`` keeps the
  rows at the step-tag positions (``StepPool``), and the head's activation is a softmax over
  the 2 labels, so column 0 is P(good). (``returned_token_ids`` is not used: in 0.32 it
  slices the hidden states before the head, not the vocabulary.)

The token ids are computed here with the checkpoint's tokenizer and sent as
``prompt_token_ids``, so both paths see identical tokens. On CPU the engine uses float32,
eager mode, a 128 MiB KV cache and the in-process engine core (as ``engines.vllm_engine``).
Build it under ``if __name__ == "__main__":`` in scripts.

A third-party Math-Shepherd checkpoint (``--prm-format math-shepherd``) runs through the same
``VLLMPRMScorer`` with a ``PRMConfig`` made in memory. A Qwen2.5-Math-PRM-style checkpoint
(``--prm-format qwen-prm``) runs through ``VLLMQwenPRMScorer``: vLLM's own
``Qwen2ForProcessRewardModel``, or a ``*ForTokenClassification`` causal LM converted with
``convert="classify"``, both with ``STEP`` pooling at the ``<extra_0>`` separator.

A likelihood PRM (``prm_config.json`` ``kind: "likelihood"``) has no tag head: ``from_pretrained``
returns a ``VLLMLikelihoodPRMScorer``, which reads the frozen LM's prompt log-probabilities
(``SamplingParams(prompt_logprobs=0)``: the log-probability of each prompt token as written) and
applies the same features and calibration as ``likelihood_prm.LikelihoodPRMScorer``.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from prm_training.prm_format import PRMConfig, encode_steps, vllm_settings
from prm_training.scoring import as_item, fit_ids


class _PooledStepScorer:
    """The scoring loop both pooling scorers share: encode each item, fit it to the context, one
    ``llm.encode`` call, a probability per pooled row. Subclasses give ``_encode`` and ``_pool``."""

    max_length: int

    def score(self, question: str, steps: Sequence[str]) -> list[float]:
        return self.score_batch([(question, list(steps))])[0]

    def score_batch(self, items: Sequence[Any]) -> list[list[float]]:
        """P(good) per step for many ``(question, steps)`` pairs (or dicts), one vLLM call."""
        return self._score(items, truncate=False)

    def score_fitting(self, items: Sequence[Any]) -> list[list[float]]:
        """As ``score_batch``, but an input past ``max_length`` is cut there (fewer scores than steps)."""
        return self._score(items, truncate=True)

    def _encode(self, question: str, steps: list[str]) -> tuple[list[int], list[int]]:
        raise NotImplementedError

    def _pool(self, prompts: list[dict]) -> list[list[float]]:
        raise NotImplementedError

    def _score(self, items: Sequence[Any], truncate: bool) -> list[list[float]]:
        prompts, index = [], []
        results: list[list[float]] = [[] for _ in items]
        for i, item in enumerate(items):
            question, steps = as_item(item)
            if not steps:
                continue
            ids, positions = fit_ids(*self._encode(question, list(steps)), self.max_length, truncate)
            if positions:
                prompts.append({"prompt_token_ids": ids})
                index.append(i)
        for i, probs in zip(index, self._pool(prompts) if prompts else []):
            results[i] = probs
        return results


class VLLMPRMScorer(_PooledStepScorer):
    def __init__(self, llm, tokenizer, config: PRMConfig, max_length: int, prompter=None):
        self.llm = llm
        self.tokenizer = tokenizer
        self.config = config
        self.tokens = config.tokens
        self.max_length = max_length
        self.prompter = prompter or config.prompter(tokenizer)

    @classmethod
    def from_pretrained(cls, path: str | Path, max_model_len: int | None = None,
                        kv_cache_memory_bytes: int = 128 << 20, config: PRMConfig | None = None, prompter=None,
                        **overrides: Any) -> "VLLMPRMScorer":
        """``config``: a ``PRMConfig`` made in memory for a checkpoint without ``prm_config.json``
        (``byo_prm.math_shepherd_config``), with the ``prompter`` of its format."""
        os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        from transformers import AutoTokenizer
        from vllm import LLM
        from vllm.config import PoolerConfig

        from engines.vllm_engine import on_cpu_platform

        path = str(Path(path).resolve())
        config = config or PRMConfig.load(path)
        if config.kind != "tag":
            raise ValueError(f"{path}: a {config.kind!r} PRM, not a tag PRM; load it with prm_training.load.load_prm")
        tokenizer = AutoTokenizer.from_pretrained(path)
        settings = vllm_settings(config.tokens)
        max_model_len = max_model_len or config.max_length
        kwargs: dict[str, Any] = dict(runner=settings["runner"], convert=settings["convert"],
                                      hf_overrides=settings["hf_overrides"],
                                      pooler_config=PoolerConfig(**settings["pooler_config"]),
                                      max_model_len=max_model_len)
        if on_cpu_platform():
            kwargs.update(dtype="float32", enforce_eager=True, kv_cache_memory_bytes=kv_cache_memory_bytes)
        kwargs.update(overrides)
        return cls(LLM(model=path, **kwargs), tokenizer, config, max_model_len, prompter)

    def _encode(self, question: str, steps: list[str]) -> tuple[list[int], list[int]]:
        return encode_steps(self.tokenizer, self.prompter.question_prompt(question), steps, self.tokens,
                            add_special_tokens=self.prompter.add_special_tokens)

    def _pool(self, prompts: list[dict]) -> list[list[float]]:
        outputs = self.llm.encode(prompts, pooling_task=vllm_settings(self.tokens)["pooling_task"], use_tqdm=False)
        probs = [out.outputs.data.float() for out in outputs]  # [n_tags, 2]: softmax over (good, bad)
        return [(p[:, 0] / p.sum(dim=-1)).tolist() for p in probs]


class VLLMQwenPRMScorer(_PooledStepScorer):
    """A ``qwen-prm`` checkpoint on vLLM's pooling runner (see ``qwen_prm`` for the input and the head).

    ``Qwen2ForProcessRewardModel`` is a vLLM pooling model of its own; a ``*ForTokenClassification``
    checkpoint runs as its causal LM converted with ``convert="classify"`` (its ``score`` weights, bias
    included). ``STEP`` pooling keeps the rows at the separator; the logits come back without vLLM's
    activation (``use_activation=False``) and the softmax is taken here, as on transformers.
    """

    def __init__(self, llm, tokenizer, fmt, sep_id: int, max_length: int):
        self.llm, self.tokenizer, self.fmt, self.sep_id, self.max_length = llm, tokenizer, fmt, sep_id, max_length
        self.config = None

    @classmethod
    def from_pretrained(cls, path: str | Path, fmt, max_model_len: int | None = None,
                        kv_cache_memory_bytes: int = 128 << 20, **overrides: Any) -> "VLLMQwenPRMScorer":
        os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        from transformers import AutoConfig, AutoTokenizer
        from vllm import LLM
        from vllm.config import PoolerConfig

        from engines.vllm_engine import on_cpu_platform
        from prm_training.byo_prm import model_max_length
        from prm_training.qwen_prm import separator_id

        path = str(Path(path).resolve())
        arch = (getattr(AutoConfig.from_pretrained(path), "architectures", None) or ["?"])[0]
        if arch != "Qwen2ForProcessRewardModel" and not arch.endswith("ForTokenClassification"):
            raise ValueError(f"--prm {path}: architecture {arch} is not a token-classification PRM; --prm-format "
                             "qwen-prm takes Qwen2ForProcessRewardModel or *ForTokenClassification checkpoints")
        tokenizer = AutoTokenizer.from_pretrained(path)
        sep_id = separator_id(tokenizer, fmt, path)
        limit = model_max_length(path)
        max_model_len = min(max_model_len or limit, limit)
        kwargs: dict[str, Any] = dict(runner="pooling", max_model_len=max_model_len,
                                      pooler_config=PoolerConfig(task="token_classify", pooling_type="STEP",
                                                                 step_tag_id=sep_id))
        if arch.endswith("ForTokenClassification"):
            kwargs["convert"] = "classify"
        if on_cpu_platform():
            kwargs.update(dtype="float32", enforce_eager=True, kv_cache_memory_bytes=kv_cache_memory_bytes)
        kwargs.update(overrides)
        return cls(LLM(model=path, **kwargs), tokenizer, fmt, sep_id, max_model_len)

    def _encode(self, question: str, steps: list[str]) -> tuple[list[int], list[int]]:
        from prm_training.qwen_prm import encode_qwen_prm

        return encode_qwen_prm(self.tokenizer, self.fmt, self.sep_id, question, steps)

    def _pool(self, prompts: list[dict]) -> list[list[float]]:
        from vllm import PoolingParams

        from prm_training.qwen_prm import POSITIVE

        params = PoolingParams(use_activation=False, step_tag_id=self.sep_id)
        outputs = self.llm.encode(prompts, params, pooling_task="token_classify", use_tqdm=False)
        # [n_separators, 2] logits: P(positive) by a softmax, as on transformers
        return [out.outputs.data.float().softmax(dim=-1)[:, POSITIVE].tolist() for out in outputs]


class VLLMLikelihoodPRMScorer:
    """The likelihood PRM through vLLM's generate runner: one prefill per solution, no sampling."""

    def __init__(self, llm, tokenizer, config: PRMConfig, max_length: int):
        calibration = config.train["calibration"]
        self.llm, self.tokenizer, self.config, self.max_length = llm, tokenizer, config, max_length
        self.weights, self.bias = list(calibration["weights"]), float(calibration["bias"])
        self.prompter = config.prompter(tokenizer)

    @classmethod
    def from_pretrained(cls, path: str | Path, max_model_len: int | None = None,
                        kv_cache_memory_bytes: int = 128 << 20, **overrides: Any) -> "VLLMLikelihoodPRMScorer":
        os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        from transformers import AutoTokenizer
        from vllm import LLM

        from engines.vllm_engine import engine_kwargs, on_cpu_platform

        path = str(Path(path).resolve())
        config = PRMConfig.load(path)
        max_model_len = max_model_len or config.max_length
        kwargs = engine_kwargs(on_cpu_platform(), max_model_len, enable_prefix_caching=True, tensor_parallel_size=1,
                               gpu_memory_utilization=0.85, kv_cache_memory_bytes=kv_cache_memory_bytes, seed=0)
        kwargs.update(overrides)
        return cls(LLM(model=path, **kwargs), AutoTokenizer.from_pretrained(path), config, max_model_len)

    def score(self, question: str, steps: Sequence[str]) -> list[float]:
        return self.score_batch([(question, list(steps))])[0]

    def score_batch(self, items: Sequence[Any]) -> list[list[float]]:
        """P(good) per step for many ``(question, steps)`` pairs (or dicts), one vLLM call."""
        from vllm import SamplingParams

        from prm_training.likelihood_prm import step_token_spans, calibrated, features_from_token_logprobs

        pairs = [as_item(item) for item in items]
        encoded = [step_token_spans(self.tokenizer, self.prompter.question_prompt(q), steps, self.prompter.delimiter,
                                    self.prompter.add_special_tokens) for q, steps in pairs]
        for ids, _ in encoded:
            if len(ids) > self.max_length:
                raise ValueError(f"PRM input of {len(ids)} tokens exceeds max_length {self.max_length}")
        todo = [i for i, (_, spans) in enumerate(encoded) if spans]
        params = SamplingParams(max_tokens=1, temperature=0.0, prompt_logprobs=0)
        outputs = self.llm.generate([{"prompt_token_ids": encoded[i][0]} for i in todo], params,
                                    use_tqdm=False) if todo else []
        results: list[list[float]] = [[] for _ in items]
        for i, out in zip(todo, outputs):
            ids, spans = encoded[i]
            token_logprobs = [0.0] + [out.prompt_logprobs[k][ids[k]].logprob for k in range(1, len(ids))]
            feats = features_from_token_logprobs(token_logprobs, spans)
            results[i] = [calibrated(self.weights, self.bias, f) for f in feats]
        return results
