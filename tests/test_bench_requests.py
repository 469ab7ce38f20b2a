"""The engine-efficiency benchmark's bare engine gets exactly the requests the factory sends.

A bare engine fed other prompts (e.g. the plain format where the factory renders the policy's chat
template) does different work, and the ratio between the two would mean nothing.
"""
from __future__ import annotations

from bench.engine_efficiency import shard_requests
from data.parquet_io import write_records
from data.records import Trace
from engines.base import Completion, EngineStats
from labelers.rounds import LabelConfig, label_shard
from tests.fakes import fake_grade_many


class RecordingEngine:
    """Answers every request with one fixed completion, and keeps the requests it was sent."""

    name = "recording"
    batch_invariant = True

    def __init__(self, tokenizer):
        self.tokenizer, self.stats, self.requests = tokenizer, EngineStats(), []

    def generate(self, requests):
        self.requests.extend(requests)
        return [[Completion("The answer is 7", 4, "stop")] * r.n for r in requests]


def test_bare_requests_are_the_factory_requests(tmp_path, policy_path):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(policy_path)
    traces = [Trace(f"t{i}", f"p{i}", f"Ann has {i + 3} cards. She gets 4 more. How many now?", str(i + 7),
                    [f"{i + 3} + 4 = {i + 7}", f"The answer is {i + 7}"], "tiny", str(i + 7), True)
              for i in range(3)]
    path = tmp_path / "traces.parquet"
    write_records(path, traces)
    cfg = LabelConfig(strategy="full", rollouts=3, max_tokens=50)
    engine = RecordingEngine(tokenizer)
    label_shard(engine, traces, cfg, grade_many=fake_grade_many)

    bare = [r for shard in shard_requests(path, cfg, 2, tokenizer) for r in shard]
    assert bare and all(r.prompt.startswith("<|im_start|>") for r in bare)  # the policy's chat template
    key = lambda r: (r.prompt, r.seed)  # noqa: E731
    assert sorted(bare, key=key) == sorted(engine.requests, key=key)
