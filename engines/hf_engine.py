"""Batched transformers ``generate``: the simple engine, as fast as vLLM for a tiny model on CPU."""
from __future__ import annotations

from typing import Sequence

from data.records import seed_from
from engines.base import Completion, EngineStats, GenRequest, finish_text


class HFEngine:
    name = "hf"

    def __init__(self, model: str, device: str | None = None, dtype: str = "float32",
                 max_batch_rows: int = 256, max_model_len: int = 512, num_threads: int | None = None):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if num_threads:
            torch.set_num_threads(num_threads)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.tokenizer = AutoTokenizer.from_pretrained(model)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForCausalLM.from_pretrained(model, dtype=getattr(torch, dtype)).to(self.device).eval()
        self.model_path = model
        self.max_batch_rows = max_batch_rows
        self.max_model_len = max_model_len
        self.stats = EngineStats()

    @classmethod
    def from_model(cls, model, tokenizer, max_batch_rows: int = 256, max_model_len: int = 512,
                   name: str = "in-memory") -> "HFEngine":
        """An engine around a model object already in memory (the RL loop samples from the policy it trains).

        The model is used as is (its device, dtype and train/eval mode); ``tokenizer`` is switched to left padding.
        """
        engine = cls.__new__(cls)
        tokenizer.padding_side = "left"
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        engine.tokenizer, engine.model, engine.model_path = tokenizer, model, name
        engine.device = next(model.parameters()).device
        engine.max_batch_rows, engine.max_model_len = max_batch_rows, max_model_len
        engine.stats = EngineStats()
        return engine

    def _batches(self, requests: Sequence[GenRequest]):
        """Consecutive requests with the same sampling settings, up to ``max_batch_rows`` rows."""
        batch: list[int] = []
        rows = 0
        for i, r in enumerate(requests):
            if batch and (rows + r.n > self.max_batch_rows or _key(r) != _key(requests[batch[0]])):
                yield batch
                batch, rows = [], 0
            batch.append(i)
            rows += r.n
        if batch:
            yield batch

    def generate(self, requests: Sequence[GenRequest]) -> list[list[Completion]]:
        import torch

        results: list[list[Completion]] = [[] for _ in requests]
        for batch in self._batches(requests):
            first = requests[batch[0]]
            prompts = [requests[i].prompt for i in batch for _ in range(requests[i].n)]
            owners = [i for i in batch for _ in range(requests[i].n)]
            enc = self.tokenizer(prompts, return_tensors="pt", padding=True,
                                 add_special_tokens=first.add_special_tokens).to(self.device)
            prompt_len = enc["input_ids"].shape[1]
            max_new = max(1, min(first.max_tokens, self.max_model_len - prompt_len))
            torch.manual_seed(seed_from("hf-batch", *[requests[i].seed for i in batch]))
            sampling = dict(do_sample=True, temperature=first.temperature, top_p=first.top_p, top_k=0) \
                if first.temperature > 0 else dict(do_sample=False)
            with torch.inference_mode():
                out = self.model.generate(
                    **enc, max_new_tokens=max_new, pad_token_id=self.tokenizer.pad_token_id,
                    eos_token_id=self.tokenizer.eos_token_id,
                    stop_strings=list(first.stop) or None, tokenizer=self.tokenizer, **sampling,
                )
            new_tokens = out[:, prompt_len:].tolist()
            for owner, tokens in zip(owners, new_tokens):
                results[owner].append(self._completion(tokens, first.stop, max_new))
            self.stats.calls += 1
            self.stats.prompt_tokens += int(enc["attention_mask"].sum())
        self.stats.requests += len(requests)
        for completions in results:
            self.stats.samples += len(completions)
            self.stats.generated_tokens += sum(c.n_tokens for c in completions)
        return results

    def _completion(self, tokens: list[int], stop: tuple[str, ...], max_new: int) -> Completion:
        pad, eos = self.tokenizer.pad_token_id, self.tokenizer.eos_token_id
        n = len(tokens)
        while n and tokens[n - 1] == pad and pad != eos:
            n -= 1
        kept = tokens[:n]
        hit_eos = eos in kept
        if hit_eos:
            kept = kept[: kept.index(eos) + 1]
        text, hit_stop = finish_text(self.tokenizer.decode(kept, skip_special_tokens=True), stop)
        reason = "stop" if hit_eos or hit_stop or len(kept) < max_new else "length"
        return Completion(text=text, n_tokens=len(kept), finish_reason=reason, token_ids=tuple(kept))


def _key(r: GenRequest):
    return (r.temperature, r.top_p, r.max_tokens, r.stop, r.add_special_tokens)
