"""An OpenAI-compatible completions client, for a running ``vllm serve`` (or any compatible server).

Besides the batch ``generate``, it steps like the offline vLLM engine (``submit``/``step``/``busy``/``abort``):
requests go out as they are submitted, up to ``max_concurrency`` at a time, and each comes back as soon as
the server finishes it, so the label feeder keeps the server's batch full across shards and a trace moves on
when its own verdicts are in. Every request carries its own seed, so a server that honours it (vLLM does)
draws the same samples whatever else is in its batch (``batch_invariant``).
"""
from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Sequence

from engines.base import Completion, EngineStats, GenRequest


class OpenAIEngine:
    name = "openai"
    batch_invariant = True
    step_wait_s = 0.05  # the longest a step waits for a finished request (new submissions are taken between)

    def __init__(self, base_url: str, model: str | None = None, api_key: str = "EMPTY",
                 max_concurrency: int = 16, timeout: float = 600.0, tokenizer: str | None = None):
        """``tokenizer``: a local copy of the served model's tokenizer (or the model folder), which renders chat
        prompts on this side; the server's completions endpoint then continues them as sent."""
        from openai import OpenAI

        self.client = OpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=2)
        self.model = model or self.client.models.list().data[0].id
        self.max_concurrency = max_concurrency
        self.stats = EngineStats()
        self.tokenizer = None  # loaded with the engine, not when the first prompt needs it (transformers takes seconds)
        if tokenizer:
            from transformers import AutoTokenizer

            self.tokenizer = AutoTokenizer.from_pretrained(tokenizer)
        self._pool: ThreadPoolExecutor | None = None
        self._in_flight: dict[int, Future] = {}
        self._next_id = 0

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
        self._count(len(requests), results)
        return results

    def submit(self, requests: Sequence[GenRequest]) -> list[int]:
        """Send ``requests`` now; their ids, for ``step`` to return them under."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.max_concurrency, thread_name_prefix="openai-engine")
        ids = list(range(self._next_id, self._next_id + len(requests)))
        self._next_id += len(requests)
        for i, request in zip(ids, requests):
            self._in_flight[i] = self._pool.submit(self._one, request)
        return ids

    def busy(self) -> bool:
        return bool(self._in_flight)

    def abort(self, ids: Sequence[int]) -> None:
        """Forget these requests (one the server is already running finishes there, unread)."""
        for i in ids:
            future = self._in_flight.pop(i, None)
            if future is not None:
                future.cancel()

    def step(self) -> list[tuple[int, list[Completion]]]:
        """The requests that have finished, waiting at most ``step_wait_s`` for one; a failed request raises."""
        if not self._in_flight:
            return []
        wait(list(self._in_flight.values()), timeout=self.step_wait_s, return_when=FIRST_COMPLETED)
        finished = [(i, f.result()) for i, f in list(self._in_flight.items()) if f.done()]
        for i, _ in finished:
            del self._in_flight[i]
        if finished:
            self.stats.calls += 1
            self._count(len(finished), [completions for _, completions in finished])
        return finished

    def _count(self, n_requests: int, results: Sequence[list[Completion]]) -> None:
        self.stats.requests += n_requests
        for completions in results:
            self.stats.samples += len(completions)
            self.stats.generated_tokens += sum(c.n_tokens for c in completions)
