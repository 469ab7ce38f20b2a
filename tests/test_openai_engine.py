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
