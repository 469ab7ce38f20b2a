"""An OpenAI-compatible completions client, for a running ``vllm serve`` (or any compatible server)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Sequence

from engines.base import Completion, EngineStats, GenRequest


class OpenAIEngine:
    name = "openai"

    def __init__(self, base_url: str, model: str | None = None, api_key: str = "EMPTY",
                 max_concurrency: int = 16, timeout: float = 600.0, tokenizer: str | None = None):
        """``tokenizer``: a local copy of the served model's tokenizer (or the model folder), which renders chat
        prompts on this side; the server's completions endpoint then continues them as sent."""
        from openai import OpenAI

        self.client = OpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=2)
        self.model = model or self.client.models.list().data[0].id
        self.max_concurrency = max_concurrency
        self.stats = EngineStats()
        self.tokenizer_path = tokenizer
        self._tokenizer = None

    @property
    def tokenizer(self):
        if self._tokenizer is None and self.tokenizer_path:
            from transformers import AutoTokenizer

            self._tokenizer = AutoTokenizer.from_pretrained(self.tokenizer_path)
        return self._tokenizer

    def _one(self, r: GenRequest) -> list[Completion]:
        response = self.client.completions.create(
            model=self.model, prompt=r.prompt, n=r.n, temperature=r.temperature, top_p=r.top_p,
            max_tokens=r.max_tokens, stop=list(r.stop) or None, seed=r.seed, logprobs=0,
            extra_body=None if r.add_special_tokens else {"add_special_tokens": False},
        )
        choices = sorted(response.choices, key=lambda c: c.index)
        completions = []
        for choice in choices:
            tokens = len(choice.logprobs.tokens) if choice.logprobs and choice.logprobs.tokens else 0
            completions.append(Completion(text=choice.text, n_tokens=tokens,
                                          finish_reason="length" if choice.finish_reason == "length" else "stop"))
        if response.usage:
            self.stats.prompt_tokens += response.usage.prompt_tokens
        return completions

    def generate(self, requests: Sequence[GenRequest]) -> list[list[Completion]]:
        with ThreadPoolExecutor(max_workers=self.max_concurrency) as pool:
            results = list(pool.map(self._one, requests))
        self.stats.calls += 1
        self.stats.requests += len(requests)
        for completions in results:
            self.stats.samples += len(completions)
            self.stats.generated_tokens += sum(c.n_tokens for c in completions)
        return results
