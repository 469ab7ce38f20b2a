"""The asynchronous labeling loop gives the rows of rounds in lockstep, on the real vLLM engine and tiny policy."""
from dataclasses import asdict

import pytest

from data.records import Rollout, StepLabels
from data.synthetic import SynthSplit
from engines.feeder import EngineLoop
from labelers.aggregate import aggregate
from labelers.rounds import LabelConfig, label_shard, make_prompter, rollout_request, trace_false_steps
from labelers.strategies import new_state
from pipelines.generate import GenerateConfig, sample_traces


def lockstep_label_shard(engine, traces, cfg):
    """The round-synchronous loop: every open prefix of the shard in one engine call, then all verdicts, per round."""
    from verifiers import VERIFIER_NAME, false_equation, grade_many

    strategy = cfg.make_strategy()
    prompter = make_prompter(cfg, engine.tokenizer)
    states = [new_state(len(t.steps), bool(t.outcome_correct), t.final_answer is not None, trace_false_steps(t, cfg))
              for t in traces]
    rollouts, round_index = [], 0
    while asks := [(t, ask) for t, state in enumerate(states) for ask in strategy.plan(state)]:
        completions = engine.generate([rollout_request(traces[t], a.step_index, a.n, round_index, cfg, prompter)
                                       for t, a in asks])
        pairs = [(prompter.prefix_text(traces[t].steps[: a.step_index + 1], traces[t].step_delimiters) + c.text,
                  traces[t].gold_answer) for (t, a), samples in zip(asks, completions) for c in samples]
        verdicts = iter(grade_many(pairs, timeout=cfg.grade_timeout))
        for (t, ask), samples in zip(asks, completions):
            base, correct = states[t].n_rollouts[ask.step_index], []
            for k, c in enumerate(samples):
                verdict, wrong = next(verdicts), false_equation(c.text)
                correct.append(verdict.correct and wrong is None)
                rollouts.append(Rollout(traces[t].trace_id, ask.step_index, base + k, c.text, verdict.extracted,
                                        verdict.status, c.n_tokens, wrong))
            strategy.update(states[t], ask.step_index, correct)
        for state in states:
            state.rounds += 1
        round_index += 1
    provenance = prompter.provenance() if cfg.prompt_format or prompter.fmt.kind != "plain" else ""
    labels = [aggregate(t, s, strategy.name, VERIFIER_NAME, strategy.name != "full", prompter.question_prompt(t.question),
                        provenance) for t, s in zip(traces, states)]
    return [asdict(x) for x in labels], [asdict(r) for r in rollouts], round_index


@pytest.fixture(scope="module")
def traces(vllm_engine):
    return sample_traces(vllm_engine, SynthSplit().heldout(10), "tiny_policy",
                         GenerateConfig(samples=2, max_tokens=120, seed=3))


@pytest.mark.parametrize("strategy", ["full", "binary", "adaptive"])
def test_async_rows_equal_lockstep_rows(vllm_engine, traces, strategy):
    cfg = LabelConfig(strategy=strategy, rollouts=4, max_tokens=80, adaptive_batch=2)
    labels, rollouts, rounds = lockstep_label_shard(vllm_engine, traces, cfg)
    result = label_shard(vllm_engine, traces, cfg)  # engine loop thread, verdicts on a thread pool
    assert result.rollouts == rollouts and result.labels == labels
    assert result.stats["rounds"] == rounds and result.stats["rollouts"] == len(rollouts) > 0
    if strategy != "full":
        assert rounds > 1  # traces really moved through several rounds each


def test_a_failing_grader_fails_the_shard(vllm_engine, traces):
    def broken(pairs, workers=1, timeout=5.0):
        raise ValueError("verifier down")

    with pytest.raises(ValueError, match="verifier down"):
        label_shard(vllm_engine, traces[:4], LabelConfig(strategy="full", rollouts=2, max_tokens=20),
                    grade_many=broken)
    assert not vllm_engine.busy()  # the failed shard's other requests left the engine
    again = label_shard(vllm_engine, traces[:2], LabelConfig(strategy="full", rollouts=2, max_tokens=20))
    assert again.stats["rollouts"] > 0


@pytest.fixture(scope="module")
def threaded_loop(policy_path):
    """An engine loop in its own thread, with its own vLLM engine built there (as in an engine actor)."""
    from engines import make_engine

    loop = EngineLoop.build(lambda: make_engine("vllm", model=policy_path))
    yield loop
    loop.close()


def test_shards_share_one_engine_loop(vllm_engine, threaded_loop, traces):
    """Two shards at once on one loop in its own thread give the rows each gives alone, inline, on another engine."""
    import threading

    cfg = LabelConfig(strategy="binary", rollouts=3, max_tokens=80)
    halves = [traces[: len(traces) // 2], traces[len(traces) // 2:]]
    alone = [label_shard(vllm_engine, half, cfg) for half in halves]
    together: list = [None, None]

    def run(i):
        together[i] = label_shard(threaded_loop.engine, halves[i], cfg, loop=threaded_loop)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for a, b in zip(alone, together):
        assert a.labels == b.labels and a.rollouts == b.rollouts
    stats = threaded_loop.snapshot()
    assert stats["requests"] == sum(r.stats["requests"] for r in together)
    report = stats["prefix_cache"]  # a fresh engine: every request it saw is in its own ceiling
    assert 0.95 * report["ceiling_hit_tokens"] <= report["hits"] <= report["ceiling_hit_tokens"] < report["query_tokens"]
    assert stats["step_s"] > 0 and stats["wait_clients_s"] >= 0
