"""The openai engine against a real ``vllm serve`` of the tiny policy on a free loopback port."""
import pytest

from data.prompt_format import build_prompt
from data.synthetic import SynthSplit
from engines import GenRequest, make_engine
from engines.vllm_server import VLLMServer


@pytest.fixture(scope="module")
def server_url(policy_path, tmp_path_factory):
    log = tmp_path_factory.mktemp("serve") / "vllm_serve.log"
    with VLLMServer(policy_path, cpu=True, log_path=str(log)) as url:
        yield url


def test_openai_engine_against_vllm_serve(server_url, vllm_engine):
    engine = make_engine("openai", base_url=server_url)
    problems = SynthSplit().heldout(6)
    reqs = [GenRequest(build_prompt(p.question), n=3, seed=7 + i, max_tokens=120) for i, p in enumerate(problems)]
    out = engine.generate(reqs)
    assert [len(cs) for cs in out] == [3] * len(problems)
    assert all(c.n_tokens > 0 and c.finish_reason in ("stop", "length") for cs in out for c in cs)
    assert engine.generate(reqs) == out  # seeded
    stepwise = engine.generate([GenRequest(r.prompt, n=2, seed=r.seed, max_tokens=40, stop=("\n",)) for r in reqs])
    assert all("\n" not in c.text for cs in stepwise for c in cs)
    greedy = [GenRequest(r.prompt, n=1, temperature=0.0, max_tokens=120) for r in reqs]
    served = [cs[0].text for cs in engine.generate(greedy)]
    offline = [cs[0].text for cs in vllm_engine.generate(greedy)]
    assert sum(a == b for a, b in zip(served, offline)) >= len(greedy) - 1


def test_rendered_prompts_are_sent_as_they_are(server_url, vllm_engine):
    """A chat-rendered prompt holds its own special tokens: both engines must not add a BOS in front, so the
    served and the offline greedy continuations agree token for token."""
    problems = SynthSplit().heldout(4)
    bos = vllm_engine.tokenizer.bos_token or ""
    reqs = [GenRequest(bos + build_prompt(p.question), n=1, temperature=0.0, max_tokens=60,
                       add_special_tokens=False) for p in problems]
    served = [cs[0].text for cs in make_engine("openai", base_url=server_url).generate(reqs)]
    offline = [cs[0].text for cs in vllm_engine.generate(reqs)]
    plain = [cs[0].text for cs in vllm_engine.generate([GenRequest(build_prompt(p.question), n=1, temperature=0.0,
                                                                   max_tokens=60) for p in problems])]
    assert sum(a == b for a, b in zip(served, offline)) >= len(reqs) - 1
    assert sum(a == b for a, b in zip(offline, plain)) >= len(reqs) - 1  # BOS written by hand == BOS added


def test_stepping_streams_each_request_as_it_finishes(server_url):
    """submit/step: the feeder's interface. A step returns what has finished without waiting for the rest,
    seeded requests give what one batch call gives, and an aborted request never comes back."""
    import time

    from engines.feeder import as_stream

    engine = make_engine("openai", base_url=server_url)
    assert as_stream(engine) is engine and engine.batch_invariant
    problems = SynthSplit().heldout(5)
    reqs = [GenRequest(build_prompt(p.question), n=2, seed=11 + i, max_tokens=80) for i, p in enumerate(problems)]
    batch = engine.generate(reqs)
    ids = engine.submit(reqs)
    dropped = engine.submit([reqs[0]])
    engine.abort(dropped)
    start = time.perf_counter()
    first = engine.step()  # a fast server may already have finished some; a step never waits for the rest
    assert time.perf_counter() - start < 1.0
    got = dict(first)
    while engine.busy():
        got.update(engine.step())
    assert set(got) == set(ids) and dropped[0] not in got
    assert [got[i] for i in ids] == batch
    assert engine.step() == [] and not engine.busy()


def test_label_on_a_served_engine_streams_and_repeats(server_url, policy_path, tmp_path):
    """`label --engine openai`: the feeder steps the served engine, and since every request carries its seed,
    a second run gives the same labels although its requests meet the server in other batches."""
    ray = pytest.importorskip("ray")
    from data.parquet_io import read_rows
    from engines.ray_pool import PoolConfig
    from labelers.rounds import LabelConfig
    from pipelines.generate import GenerateConfig, generate_traces
    from pipelines.label_run import LabelRunConfig, run_label

    engine = make_engine("openai", base_url=server_url, tokenizer=policy_path)
    generate_traces(engine, SynthSplit().heldout(4), tmp_path / "gen", "tiny_policy",
                    GenerateConfig(samples=2, shard_size=4), progress=False)
    labels = []
    try:
        for run, shard_size in (("a", 8), ("b", 3)):
            cfg = LabelRunConfig(traces=str(tmp_path / "gen" / "traces"), out=str(tmp_path / run),
                                 label=LabelConfig(strategy="full", rollouts=3, max_tokens=80), engine="openai",
                                 engine_kwargs={"base_url": server_url, "tokenizer": policy_path},
                                 shard_size=shard_size, pool=PoolConfig(actors=1), progress=False)
            stats = run_label(cfg)
            assert stats["traces"] == 8 and 0 < stats["startup"]["first_rollout_s"] < stats["wall_s"]
            labels.append(sorted((r["trace_id"], r["soft_labels"]) for r in read_rows(tmp_path / run / "labels")))
    finally:
        ray.shutdown()
    assert labels[0] == labels[1] and len(labels[0]) == 8
