"""`prm-factory generate` on 200 synthetic problems x 4 samples with the embedded policy through vLLM."""
import re

import pytest

from data.parquet_io import read_records
from data.records import Trace
from data.synthetic import SynthSplit, parse_gold_chain
from pipelines.generate import GenerateConfig, generate_traces


def _independent_check(gold_steps, steps):
    """A second, independent reading of prefix correctness: replay the chain with Python arithmetic."""
    chain = parse_gold_chain(gold_steps)
    labels, ok = [], True
    for i, step in enumerate(steps):
        if ok:
            answer_re = r"The answer is (?:\\boxed\{(\d+)\}|(\d+))\.?"
            m = re.fullmatch(r"(\d+) ([-+*/]) (\d+) = (\d+)(?:\. " + answer_re + ")?", step.strip())
            bare = re.fullmatch(answer_re, step.strip())
            if bare:
                ok = i == len(chain) and int(bare.group(1) or bare.group(2)) == chain[-1].result and "The answer" not in steps[i - 1]
            elif not m or i >= len(chain):
                ok = False
            else:
                a, op, b, c, boxed, unboxed = m.groups()
                answer = boxed or unboxed
                want = chain[i]
                value = {"+": lambda x, y: x + y, "-": lambda x, y: x - y,
                         "*": lambda x, y: x * y, "/": lambda x, y: x / y}[op](int(a), int(b))
                operands_ok = {int(a), int(b)} == {want.left, want.right} if op in "+*" else \
                    (int(a), int(b)) == (want.left, want.right)
                ok = op == want.op and operands_ok and value == int(c) == want.result
                if answer is not None:
                    ok = ok and i == len(chain) - 1 and int(answer) == want.result
        labels.append(ok)
    return labels


@pytest.fixture(scope="module")
def generated(tmp_path_factory, vllm_engine):
    out = tmp_path_factory.mktemp("gen200")
    problems = SynthSplit().heldout(200)
    summary = generate_traces(vllm_engine, problems, out, "tiny_policy", GenerateConfig(samples=4), progress=False)
    return problems, summary, read_records(out / "traces", Trace), out


def test_800_traces_with_gold_labels(generated):
    problems, summary, traces, _ = generated
    assert len(traces) == 800 and len({t.trace_id for t in traces}) == 800
    assert summary["shards"] == 2
    by_problem = {p.problem_id: p for p in problems}
    for t in traces:
        assert t.steps and t.gold_labels is not None and len(t.gold_labels) == len(t.steps)
        assert t.gold_labels == _independent_check(by_problem[t.problem_id].gold_steps, t.steps)
        assert t.gold_labels == sorted(t.gold_labels, reverse=True)  # prefix semantics: True..True False..False
        if all(t.gold_labels) and "The answer is" in t.steps[-1]:
            assert t.outcome_correct
    # the policy is imperfect on purpose: both kinds of steps occur
    flat = [x for t in traces for x in t.gold_labels]
    assert 0.2 < sum(flat) / len(flat) < 0.98


def test_rerun_skips_done_shards_and_changes_nothing(generated, vllm_engine):
    problems, _, traces, out = generated
    summary = generate_traces(vllm_engine, problems, out, "tiny_policy", GenerateConfig(samples=4), progress=False)
    assert summary["shards_skipped"] == 2 and summary["shards_written"] == 0
    with pytest.raises(ValueError, match="different run"):
        generate_traces(vllm_engine, problems[:10], out, "tiny_policy", GenerateConfig(samples=4), progress=False)
